"""Count steps of two."""


def count_steps(n: int) -> int:
    """How many steps of 2, starting at 0, it takes to reach at least n."""
    i = 0
    steps = 0
    while i != n:
        i += 2
        steps += 1
    return steps
