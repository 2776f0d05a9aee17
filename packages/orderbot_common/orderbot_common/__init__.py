"""What orderbot's two Python environments share (standard library only, Python 3.10 or newer):

- ``phrasing``: the prompt and answer format between the action server and the LLM server, and which
  responses are phrased at all;
- ``json_logs``: one JSON object per log line, with the request id, and which request ids to accept.

Installed into both environments by the Makefile (and into both images), never reached by path.
"""
