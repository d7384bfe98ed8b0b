"""Notification channels fed by the transactional outbox (see `leadflow.services.outbox`).

- `signing`: HMAC-SHA256 signatures for generic webhooks (and a verifier for receivers);
- `retry`: when to try a failed delivery again;
- `channels`: SMTP e-mail, Slack-compatible incoming webhook, generic signed webhook;
- `broker`: wakes this process's server-sent event streams right after a commit.
"""
