import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  title: "Understand",
  intro: "Per-post analysis in English and Chinese: sentiment, emotion, offensive and hateful language, irony, "
    + "crisis informativeness, language, topics and personal data.",
  panels: [
    ["Analyse a post", "Paste a post or pick one from the store and see every label with its confidence."],
    ["Distributions", "Sentiment, emotion and toxicity across the store, by day, language and platform."],
    ["Topics", "Clusters of posts from their shared embeddings, named by their key terms."],
  ],
});
