"""The chat bridge: warehouse and finance notifications into their DingTalk and Slack groups.

A consumer of the outbox inside the order service (a thread per group, started in the gunicorn master
next to the scheduler, only when a group is configured). Each group ("target", e.g.
``dingtalk:warehouse``) has a cursor row in ``bridge_cursors``: the last outbox id it delivered. A
target reads the committed rows after its cursor in id order, posts its role's rows, and moves the
cursor only after the platform accepted the post, in one compare-and-set update; so a restart resumes
after the last delivered event, and nothing is posted twice (the one window left: a crash after the
platform accepted a post and before the cursor update commits, which re-posts that one message).

- **Order.** PostgreSQL hands out ids at insert, not at commit: a target does not pass an id that is
  not visible yet (a "hole") until it fills or ``hole_grace_seconds`` pass (a rolled-back insert).
- **Rate limits.** At most ``per_minute`` posts in any 60 s (DingTalk allows about 20 per robot); the
  recent post times are stored with the cursor, so a restart respects them too. When the backlog is
  more than the posts left in the window can carry one by one, the backlog goes out as one message
  (up to ``batch`` events each).
- **Failures.** Network errors, HTTP errors and platform error codes are retried with exponential
  backoff (with jitter, up to ``max_backoff_seconds``), honouring a platform's Retry-After; the cursor
  stays, so nothing is skipped.
- **Several processes.** A target is delivered by one process at a time: a lease on its cursor row
  (``owner``, ``lease_until``), renewed while it works and released on a clean stop; another process
  takes over after ``lease_seconds`` when the owner died.

Configuration (environment): ``orders.config.BridgeSettings``, documented in docs/configuration.md.
"""

from orders.adapters.orm import bridge_cursors
from orders.entrypoints.bridge.runner import Bridge, start_bridge
from orders.entrypoints.bridge.targets import BridgeConfig, Target
from orders.entrypoints.bridge.worker import TargetWorker

__all__ = ["Bridge", "BridgeConfig", "Target", "TargetWorker", "bridge_cursors", "start_bridge"]
