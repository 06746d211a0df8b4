"""Fit y = 3x + 2 by gradient descent."""

LEARNING_RATE = 0.0002


def train(lr: float, steps: int = 200) -> float:
    data = [(x / 10, 3 * x / 10 + 2) for x in range(-10, 11)]
    w, b = 0.0, 0.0
    for _ in range(steps):
        grad_w = grad_b = 0.0
        for x, y in data:
            err = w * x + b - y
            grad_w += 2 * err * x / len(data)
            grad_b += 2 * err / len(data)
        w -= lr * grad_w
        b -= lr * grad_b
    return sum((w * x + b - y) ** 2 for x, y in data) / len(data)


if __name__ == "__main__":
    try:
        loss = train(LEARNING_RATE)
    except OverflowError:
        loss = float("inf")
    print(f"loss={loss:.10f}")
