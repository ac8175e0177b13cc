"""The shared rate limiter on a fake clock: windows, corrections from headers, daily caps."""

from __future__ import annotations

import pytest

from pipeline.llm.ratelimit import BudgetExhausted, RateLimiter, RateLimits, parse_go_duration

LIMITS = RateLimits(
    requests_per_minute=3, tokens_per_minute=1000, requests_per_day=100, tokens_per_day=100_000
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(clock: FakeClock, limits: RateLimits = LIMITS) -> RateLimiter:
    return RateLimiter(limits, minute_s=60.0, clock=clock, sleep=clock.sleep)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7.66s", 7.66),
        ("2m59.56s", 179.56),
        ("520ms", 0.52),
        ("1h2m3s", 3723.0),
        ("0s", 0.0),
        ("12", 12.0),
        ("1.5", 1.5),
    ],
)
def test_go_durations_as_groq_sends_them(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "1x", "2m5"])
def test_a_malformed_duration_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_go_duration(text)


def test_requests_beyond_the_minute_wait_for_the_oldest_to_leave(clock: FakeClock) -> None:
    rate = limiter(clock)
    for _ in range(3):
        rate.acquire(10)
    assert clock.now == 0
    rate.acquire(10)
    assert clock.now == pytest.approx(60.0)


def test_tokens_beyond_the_minute_wait_until_enough_expire(clock: FakeClock) -> None:
    rate = limiter(clock)
    rate.acquire(600)
    clock.now = 10
    rate.acquire(300)
    rate.acquire(300)  # 1200 > 1000: waits for the first 600 to leave at t=60
    assert clock.now == pytest.approx(60.0)


def test_settling_with_the_real_count_frees_the_overestimate(clock: FakeClock) -> None:
    rate = limiter(clock)
    spend = rate.acquire(900)
    rate.settle(spend, 200)
    rate.acquire(700)
    assert clock.now == 0


def test_a_call_larger_than_the_minute_goes_alone_for_the_server_to_refuse(
    clock: FakeClock,
) -> None:
    rate = limiter(clock)
    rate.acquire(5000)
    assert clock.now == 0


def test_the_servers_remaining_tokens_correct_ours(clock: FakeClock) -> None:
    rate = limiter(clock)
    rate.acquire(100)
    # Another client of the key spent 800: the server says 100 remain, resetting in 30 s.
    rate.observe({"x-ratelimit-remaining-tokens": "100", "x-ratelimit-reset-tokens": "30s"})
    rate.acquire(500)
    assert clock.now == pytest.approx(30.0)


def test_no_requests_left_today_blocks_until_the_reset(clock: FakeClock) -> None:
    rate = limiter(clock)
    rate.observe({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2m0s"})
    rate.acquire(10)
    assert clock.now == pytest.approx(120.0)


def test_a_block_longer_than_the_caller_accepts_raises(clock: FakeClock) -> None:
    rate = limiter(clock)
    rate.observe({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3h10m0.5s"})
    with pytest.raises(BudgetExhausted, match="daily request cap") as raised:
        rate.acquire(10, max_wait_s=60)
    assert raised.value.wait_s == pytest.approx(11400.5)
    assert clock.slept == []


def test_a_pause_holds_every_call(clock: FakeClock) -> None:
    rate = limiter(clock)
    rate.pause(2.5, "429")
    rate.acquire(1)
    assert clock.now == pytest.approx(2.5)


def test_headers_that_do_not_parse_are_ignored(clock: FakeClock) -> None:
    rate = limiter(clock)
    rate.observe({"x-ratelimit-remaining-tokens": "lots", "x-ratelimit-reset-requests": "?"})
    rate.acquire(1000)
    assert clock.now == 0
