import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  title: "Recommend",
  intro: "Personalised feeds built from each person's history, follows, interactions and active hours, "
    + "each recommendation with its reasons.",
  panels: [
    ["Feeds", "Pick a user and see their feed, ranked, with why each post is there."],
    ["Audiences", "Segments and look-alike audiences for a promoted post."],
    ["Quality", "Offline metrics of the ranker against held-out interactions."],
  ],
});
