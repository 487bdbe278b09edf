import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  title: "Respond",
  intro: "A customer-service assistant grounded in your knowledge base: answers with citations, intent "
    + "detection, out-of-scope detection and hand-off to a person.",
  panels: [
    ["Conversations", "Open conversations, the assistant's drafted answers and their sources."],
    ["Knowledge base", "The documents answers are grounded in, and what each one is cited for."],
    ["Hand-offs and feedback", "What went to a person and why; ratings that improve later answers."],
  ],
});
