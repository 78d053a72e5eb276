"""Department queues: work lists, the request page and the actions taken on it."""
