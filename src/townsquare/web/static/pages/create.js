import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  title: "Create",
  intro: "Posts and replies in a brand's voice and within a platform's limits: several candidates, "
    + "ranked and checked by moderation before anyone sees them.",
  panels: [
    ["Compose", "A brief in, ranked candidates out, each with its length and moderation result."],
    ["Brand voice", "Fine-tune on the brand's own posts and compare before and after."],
    ["History", "What was generated, chosen and published."],
  ],
});
