"""A trading strategy module: part of the demo bundle so releases have real content."""

MOVING_AVERAGE_WINDOW = 20


def moving_average(prices: list[float], window: int = MOVING_AVERAGE_WINDOW) -> list[float]:
    """Simple moving average; the first window-1 points have no value."""
    averages = []
    for index in range(window - 1, len(prices)):
        averages.append(sum(prices[index - window + 1 : index + 1]) / window)
    return averages
