"""Server-Timing spans: recorded inside a request only, summed per layer (pure logic)."""

from search.timing import recording, server_timing, span


def test_spans_are_recorded_in_order_inside_a_request_only() -> None:
    with span("outside"):
        pass
    with recording() as spans:
        with span("understand"):
            pass
        with span("elasticsearch"):
            pass
        with span("elasticsearch"):
            pass
    with span("after"):
        pass
    assert [name for name, _ in spans] == ["understand", "elasticsearch", "elasticsearch"]
    assert all(ms >= 0 for _, ms in spans)


def test_the_header_sums_a_layer_that_ran_twice() -> None:
    header = server_timing([("access", 1.0), ("elasticsearch", 2.5), ("elasticsearch", 3.0)])
    assert header == "access;dur=1.0, elasticsearch;dur=5.5"


def test_a_span_that_raises_is_still_recorded() -> None:
    with recording() as spans:
        try:
            with span("elasticsearch"):
                raise TimeoutError
        except TimeoutError:
            pass
    assert [name for name, _ in spans] == ["elasticsearch"]
