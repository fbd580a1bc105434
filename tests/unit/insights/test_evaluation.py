"""The committed evaluation of the anomaly detector meets its targets on the synthetic month."""

from meterstream.insights.evaluate import evaluate


def test_precision_and_recall_per_hour_are_at_least_0_9_on_the_synthetic_month():
    result = evaluate(seed=7)
    assert result.true_hours > 20
    assert (result.precision >= 0.9, result.recall >= 0.9) == (True, True), (result.missed, result.false_alarms)
