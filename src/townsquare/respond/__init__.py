"""respond: the customer-service assistant — intents and out-of-scope detection (hand-off to a human)."""
