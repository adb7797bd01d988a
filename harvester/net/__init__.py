"""The one network layer: every request of a run (pages, robots.txt, media, stream
segments) goes through it.

- :mod:`.client`: the run's :class:`~harvester.net.client.Session` (one httpx client
  over the address guard, the policy, the per-host limiter, the stop signal);
- :mod:`.exchange`: one GET with retries, redirects checked hop by hop and a
  per-attempt deadline;
- :mod:`.policy`: settings, what is retried and how long to wait;
- :mod:`.translate`: foreign errors to stable codes; :mod:`.body`: bounded decoding;
- :mod:`.guard`: which addresses may be reached; :mod:`.limiter`: per-host slots and pacing;
- :mod:`.deadline`, :mod:`.proxy`, :mod:`.redact`, :mod:`.robots`.
"""
