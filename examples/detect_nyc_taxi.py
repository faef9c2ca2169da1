"""Detect anomalies in NYC taxi demand (NAB's nyc_taxi, shipped with tsrnn).

    python examples/detect_nyc_taxi.py          # prints detections, saves nyc_taxi_anomalies.png
    python examples/detect_nyc_taxi.py --tiny   # seconds; what CI runs

The detector is fitted on the first 15 % of the series (NAB's probationary period)
and scores the rest causally with the anomaly likelihood; the labelled windows
(marathon, Thanksgiving, Christmas, New Year, snow storm) are only used to print
which of them were hit.
"""

import argparse


from tsrnn import RNNAnomalyDetector
from tsrnn.datasets import load_nab


def main(tiny=False, plot="nyc_taxi_anomalies.png"):
    data = load_nab("nyc_taxi")
    y = data.y
    prob = min(int(0.15 * len(y)), 750)
    det = RNNAnomalyDetector(cell="gru", hidden_size=8 if tiny else 32, window=48,
                             threshold="likelihood", likelihood_short_window=1, refractory=200,
                             epochs=3 if tiny else 30, learning_rate=3e-3, random_state=0)
    det.fit(y[:prob])
    scores = det.decision_function(y, causal=True)
    labels = (scores > det.threshold_).astype(int)
    labels.iloc[:prob] = 0
    alerts = labels[labels == 1].index
    print(f"{len(alerts)} alert(s) after the probationary period ({prob} points):")
    for ts in alerts[:20]:
        inside = any(a <= ts <= b for a, b in data.windows)
        print(f"  {ts}  score {scores[ts]:.3f}  {'inside a labelled window' if inside else ''}")
    hit = [any(a <= ts <= b for ts in alerts) for a, b in data.windows]
    print(f"labelled windows with an alert: {sum(hit)} of {len(hit)}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for the plot)")
        return scores
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    ax1.plot(y.index, y.to_numpy(), lw=0.6, color="black", label="passengers / 30 min")
    for a, b in data.windows:
        ax1.axvspan(a, b, color="orange", alpha=0.3)
    ax1.scatter(alerts, y[alerts], color="red", zorder=3, label="alerts")
    ax1.set_title("NYC taxi: RNN anomaly detection (orange: NAB's labelled windows)")
    ax1.legend(loc="upper left")
    ax2.plot(scores.index, scores.to_numpy(), lw=0.6)
    ax2.axhline(det.threshold_, color="red", ls="--", lw=0.8)
    ax2.set_ylabel("score")
    fig.tight_layout()
    fig.savefig(plot)
    print(f"plot saved to {plot}")
    return scores


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    main(ap.parse_args().tiny)
