"""One GET, as every part of the harvester makes it: retries, redirects, guard, deadline.

:func:`exchange` promises, for pages, robots.txt and media alike:

* the whole exchange (every redirect hop, headers and the body read by the
  caller's ``handle``) is one attempt, retried by tenacity on the failures
  :mod:`harvester.net.policy` calls transient, with its backoff;
* each attempt ends by ``policy.deadline``, connect, headers and body
  included (:mod:`harvester.net.deadline`);
* redirects are followed by hand, at most ``policy.max_redirects`` hops,
  a loop fails at once; every hop passes the address guard
  (:mod:`harvester.net.guard`): only the host the caller marks as named by
  the user (``trusted_host``) skips the address check;
* at most ``policy.per_host`` requests run against one host at a time; a
  host that answers 429 gets fewer slots for the rest of the run, and one
  that asks to wait longer than the cap is left alone until then (later
  requests to it are deferred without being sent);
* the operator's extra headers (``--header``) go with every hop to the
  request's own host; credentials among them (``Authorization``, ``Cookie``)
  never follow a redirect to another host, nor go with a request that asks
  for none (robots.txt);
* every failure is a :class:`~harvester.errors.RemoteError` with a stable
  ``code`` and ``attempts``, and a message with URL passwords and secret
  query parameters masked (:mod:`harvester.net.redact`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from harvester.errors import BlockedURL, RemoteError
from harvester.net.client import Session
from harvester.net.deadline import Cancelled, attempt_deadline
from harvester.net.guard import TRUSTED_EXTENSION, check_url
from harvester.net.policy import REDIRECTS, Backoff, Deferred, Transient, is_transient, status_error
from harvester.net.redact import redact_error
from harvester.net.translate import translate

__all__ = ["COOLING", "Request", "exchange", "is_success"]

T = TypeVar("T")
log = logging.getLogger("harvester.net")

#: The code of a request deferred because its host asked us to stay away earlier in the run.
COOLING = "host_cooling_down"


def is_success(status: int) -> bool:
    """2xx: the statuses a plain GET hands to its body reader."""
    return 200 <= status < 300


@dataclass(frozen=True)
class Request(Generic[T]):
    """What to ask for and how to read the answer.

    ``handle(response, url)`` reads an accepted response (``url`` is the final
    hop); ``headers()`` gives each attempt's headers (a resume changes them);
    ``check_hop(url)`` may veto a hop before it is sent (robots.txt);
    ``credentials`` False keeps the operator's credential headers off it.
    """

    url: str
    handle: Callable[[httpx.Response, str], T]
    headers: Callable[[], Mapping[str, str]] = field(default=dict)
    accept: Callable[[int], bool] = is_success
    trusted_host: str | None = None
    check_hop: Callable[[str], None] | None = None
    max_redirects: int | None = None  # the policy's when None
    credentials: bool = True


def exchange(session: Session, request: Request[T]) -> tuple[T, int]:
    """``request`` with retries; returns what ``handle`` returned and the attempts made."""
    policy = session.policy
    retrying = Retrying(stop=stop_after_attempt(policy.retries + 1), wait=Backoff(policy),
                        retry=retry_if_exception(is_transient), reraise=True,
                        sleep=lambda seconds: _pause(session, seconds, request.url),
                        before_sleep=_note_retry)
    attempts = 0
    _check_cooling(session, host_of(request.url), request.url)  # deferred without a request
    try:
        for attempt in retrying:
            with attempt:
                if session.cancel.is_set():
                    raise Cancelled("the run was interrupted", request.url)
                attempts += 1
                with attempt_deadline(policy.deadline, session.cancel):
                    result = _attempt(session, request)
    except RemoteError as exc:
        exc.attempts = attempts
        redact_error(exc, policy.redact_params)
        raise
    return result, attempts


def _note_retry(state: RetryCallState) -> None:
    """Log each retry (``-v`` shows these; ``--log-file`` keeps them)."""
    exc = state.outcome.exception() if state.outcome is not None else None
    if isinstance(exc, RemoteError):
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.info("retry", extra={"fields": {"url": exc.url, "code": exc.code,
                                            "attempt": state.attempt_number,
                                            "wait_s": round(wait, 2)}})


def _pause(session: Session, seconds: float, url: str) -> None:
    """Wait between attempts; a stop of the run ends the wait at once."""
    if session.cancel.wait(seconds):
        raise Cancelled("the run was interrupted", url)


def host_of(url: str) -> str:
    """The host a URL names, lower case, without a trailing dot ('' when unreadable)."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _attempt(session: Session, request: Request[T]) -> T:
    """Follow the redirect chain from the start and read the final answer."""
    current, seen = request.url, [request.url]
    hops = session.policy.max_redirects if request.max_redirects is None \
        else request.max_redirects
    for _ in range(hops + 1):
        host = host_of(current)
        trusted = request.trusted_host is not None and host == request.trusted_host
        _guard(session, request.url, current, trusted)
        if request.check_hop is not None:
            request.check_hop(current)
        _check_cooling(session, host, request.url)
        with session.limiter.slot(host):
            outcome = _hop(session, request, current, host, trusted)
        if not isinstance(outcome, _Redirect):
            return outcome
        current = _next_hop(current, outcome.location, seen, request.url)
    raise RemoteError(f"more than {hops} redirects (last to "
                      f"{current}); raise max_redirects if the chain is legitimate",
                      request.url, code="too_many_redirects")


def _guard(session: Session, url: str, current: str, trusted: bool) -> None:
    try:
        check_url(current, session.rules, trusted=trusted)
    except BlockedURL as exc:
        hop = "" if current == url else f"redirect to {current}: "
        raise BlockedURL(hop + exc.message, url, code=exc.code) from None


def _check_cooling(session: Session, host: str, url: str) -> None:
    """Defer at once, without a request, while ``host`` is cooling down."""
    left = session.limiter.cooling(host)
    if left is not None:
        raise Deferred(f"{host} asked us to stay away for {left:.0f} s more: deferred to a "
                       "later run", url, code=COOLING, retry_after=left)


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str


def _next_hop(current: str, location: str, seen: list[str], url: str) -> str:
    target = urljoin(current, location.strip())
    if target in seen:
        raise RemoteError(f"redirect loop: {current} leads back to {target}", url,
                          code="too_many_redirects")
    seen.append(target)
    return target


def _hop(session: Session, request: Request[T], current: str, host: str,
         trusted: bool) -> T | _Redirect:
    """One request: what ``handle`` made of the answer, or where it redirects."""
    response = _send(session, request, current, trusted)
    try:
        status = response.status_code
        location = response.headers.get("location")
        if status in REDIRECTS and location:
            return _Redirect(location)
        if not request.accept(status):
            raise _remember(session, host, status_error(response, request.url, session.policy))
        try:
            return request.handle(response, current)
        except (httpx.HTTPError, OSError) as exc:
            raise translate(exc, request.url, in_body=True) from exc
    finally:
        response.close()


def _headers(session: Session, request: Request[T], current: str) -> httpx.Headers:
    """The operator's headers under the request's own (which win: Range, Accept-Encoding)."""
    own_host = host_of(current) == host_of(request.url)
    headers = httpx.Headers(session.policy.headers_for(credentials=request.credentials
                                                       and own_host))
    headers.update(request.headers())  # replaces names case-insensitively
    return headers


def _send(session: Session, request: Request[T], current: str,
          trusted: bool) -> httpx.Response:
    extensions = {TRUSTED_EXTENSION: True} if trusted else None
    try:
        built = session.client.build_request("GET", current,
                                             headers=_headers(session, request, current),
                                             extensions=extensions)
    except (httpx.InvalidURL, ValueError) as exc:
        raise BlockedURL(f"unusable URL {current}: {exc}", request.url, code="bad_url") from None
    try:
        return session.client.send(built, stream=True)
    except BlockedURL as exc:  # raised at connect time by the guard
        raise BlockedURL(exc.message, request.url, code=exc.code) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        # httpx reads a redirect's Location even though it will not follow it.
        raise BlockedURL(f"{current} redirects to an unusable URL: {exc}", request.url,
                         code="bad_redirect") from None
    except (httpx.HTTPError, OSError) as exc:
        raise translate(exc, request.url, in_body=False) from exc


def _remember(session: Session, host: str, error: RemoteError) -> RemoteError:
    """A host that says "too many requests" gets fewer slots, or a rest."""
    if isinstance(error, Deferred) and error.retry_after is not None:
        session.limiter.cool_down(host, time.monotonic() + error.retry_after)
    elif isinstance(error, Transient) and error.code == "http_429":
        session.limiter.reduce(host)
    return error
