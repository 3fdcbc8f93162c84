"""A strict parser of the Prometheus text format 0.0.4 subset ocspgate emits, shared by the
tests that read /metrics: every family has HELP and TYPE before its samples; counters and
gauges are integers (gauges may be negative); a histogram's samples are NAME_bucket (with a
cumulative count per `le`, ending with +Inf), NAME_sum (seconds) and NAME_count."""
import re

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? '
                    r'(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def family_of(name: str, typed: dict) -> str | None:
    if name in typed:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and typed.get(base) == "histogram":
            return base
    return None


def parse_metrics(text: str) -> dict:
    """Returns {(name, frozenset(labels)): value}; asserts on anything outside the format."""
    typed, helped, samples = {}, set(), {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("counter", "gauge", "histogram") and name in helped and name not in typed, line
            typed[name] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels, text_value = m.group(1), m.group(2) or "", m.group(3)
            family = family_of(name, typed)
            assert family is not None, f"sample before its TYPE: {line!r}"
            if not name.endswith("_sum"):
                assert re.fullmatch(r"-?\d+", text_value), f"not an integer: {line!r}"
            if typed[family] == "counter" or name.endswith(("_bucket", "_count")):
                assert not text_value.startswith("-"), f"negative count: {line!r}"
            key = (name, frozenset(LABEL.findall(labels)))
            assert key not in samples, f"duplicate sample {line!r}"
            samples[key] = float(text_value) if name.endswith("_sum") else int(text_value)
    check_histograms(samples, typed)
    return samples


def check_histograms(samples: dict, typed: dict):
    """Buckets are cumulative and the +Inf bucket equals _count, per label set."""
    for family in (n for n, kind in typed.items() if kind == "histogram"):
        series = {}
        for (name, labels), v in samples.items():
            if name == family + "_bucket":
                le = dict(labels)["le"]
                rest = frozenset((k, x) for k, x in labels if k != "le")
                series.setdefault(rest, []).append((float("inf") if le == "+Inf" else float(le), v))
        for rest, buckets in series.items():
            counts = [v for _, v in sorted(buckets)]
            assert counts == sorted(counts), f"{family}{dict(rest)}: buckets not cumulative {buckets}"
            assert sorted(buckets)[-1][0] == float("inf")
            assert counts[-1] == samples[(family + "_count", rest)], f"{family}{dict(rest)}: +Inf != _count"


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)
