"""The action server: thin rasa-sdk actions that call the order service and reply."""
