"""The local server's rate limits as Groq keeps them: sliding windows over the last minute
and the last day, the `x-ratelimit-*` headers, and Groq's way of writing a duration."""

from __future__ import annotations

from collections import deque

from pipeline.llm.ratelimit import RateLimits

_DAY_MINUTES = 1440


class RateWindows:
    """The server's sliding windows over the last minute and the last day."""

    def __init__(self, limits: RateLimits, minute_s: float) -> None:
        self.limits = limits
        self._minute_s = minute_s
        self.minute: deque[tuple[float, int]] = deque()
        self.day: deque[tuple[float, int]] = deque()

    def _trim(self, now: float) -> None:
        for window, span in ((self.minute, self.minute_s), (self.day, self.day_s)):
            while window and window[0][0] <= now - span:
                window.popleft()

    @property
    def minute_s(self) -> float:
        return self._minute_s

    @property
    def day_s(self) -> float:
        return self._minute_s * _DAY_MINUTES

    def refusal(self, now: float, tokens: int) -> tuple[str, float] | None:
        """Which limit a request of `tokens` would break and how long until it fits, or None
        when it fits now."""
        self._trim(now)
        limits = self.limits
        for window, span, request_limit, token_limit, period in (
            (self.day, self.day_s, limits.requests_per_day, limits.tokens_per_day, "day"),
            (
                self.minute,
                self.minute_s,
                limits.requests_per_minute,
                limits.tokens_per_minute,
                "minute",
            ),
        ):
            if window and len(window) >= request_limit:
                return f"requests per {period}", window[0][0] + span - now
            if sum(spent for _, spent in window) + tokens > token_limit:
                return f"tokens per {period}", _until_tokens_fit(
                    window, span, now, tokens, token_limit
                )
        return None

    def spend(self, now: float, tokens: int) -> None:
        self.minute.append((now, tokens))
        self.day.append((now, tokens))

    def headers(self, now: float) -> dict[str, str]:
        self._trim(now)
        limits = self.limits
        minute_tokens = sum(t for _, t in self.minute)
        return {
            "x-ratelimit-limit-requests": str(limits.requests_per_day),
            "x-ratelimit-limit-tokens": str(limits.tokens_per_minute),
            "x-ratelimit-remaining-requests": str(max(limits.requests_per_day - len(self.day), 0)),
            "x-ratelimit-remaining-tokens": str(max(limits.tokens_per_minute - minute_tokens, 0)),
            "x-ratelimit-reset-requests": go_duration(
                self.day[0][0] + self.day_s - now if self.day else 0
            ),
            "x-ratelimit-reset-tokens": go_duration(
                self.minute[0][0] + self.minute_s - now if self.minute else 0
            ),
        }


def _until_tokens_fit(
    window: deque[tuple[float, int]], span: float, now: float, tokens: int, limit: int
) -> float:
    used = sum(spent for _, spent in window)
    for at, spent in window:
        used -= spent
        if used + tokens <= limit:
            return max(at + span - now, 0.0)
    return span


def go_duration(seconds: float) -> str:
    """Groq's style: '520ms', '7.66s', '2m59.56s', '1h2m3s'."""
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.2f}".rstrip("0").rstrip(".") + "s"
    if minutes or hours:
        text = f"{int(minutes)}m{text}"
    if hours:
        text = f"{int(hours)}h{text}"
    return text
