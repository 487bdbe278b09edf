import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  title: "Listen",
  intro: "A live stream of posts, scored as they arrive and aggregated per brand, keyword and topic, "
    + "with anomaly and crisis alerts that explain themselves.",
  panels: [
    ["Live stream", "Posts as they arrive, with sentiment, language and topic, filterable by watch."],
    ["Watches", "The brands, keywords and topics you follow: volume and sentiment over time."],
    ["Alerts", "What spiked, which posts drove it, and a drafted response to start from."],
  ],
});
