"""Write a realistic application log and the number of its ERROR lines.

Deterministic (fixed seed) so the lab's check always knows the answer.
Usage: make_logs.py LOG_PATH ANSWER_PATH
"""

import random
import sys
from datetime import datetime, timedelta

PATHS = [
    "/",
    "/index.html",
    "/login",
    "/api/orders",
    "/api/users/42",
    "/static/app.css",
    "/error-pages/404.html",
    "/search?q=errors",
    "/api/cart",
    "/healthz",
]
INFO = ["GET {path} 200 {ms}ms", "POST {path} 201 {ms}ms", "GET {path} 304 {ms}ms"]
WARN = ["GET {path} 404 {ms}ms not found", "slow request GET {path} took {ms}ms"]
ERROR = [
    "GET {path} 500 {ms}ms database connection refused",
    "POST {path} 502 {ms}ms upstream timed out",
    "worker 3 crashed: ValueError in {path}",
]


def main(log_path: str, answer_path: str) -> None:
    rng = random.Random(20240301)
    moment = datetime(2024, 3, 1, 8, 0, 0)
    lines, errors = [], 0
    for _ in range(1200):
        moment += timedelta(seconds=rng.randint(1, 40))
        level = rng.choices(["INFO", "WARN", "ERROR", "DEBUG"], [80, 10, 6, 4])[0]
        template = rng.choice(
            {
                "INFO": INFO,
                "WARN": WARN,
                "ERROR": ERROR,
                "DEBUG": ["cache lookup {path}: error=none"],
            }[level]
        )
        message = template.format(path=rng.choice(PATHS), ms=rng.randint(2, 900))
        lines.append(f"{moment:%Y-%m-%dT%H:%M:%S} {level:<5} {message}")
        errors += "ERROR" in lines[-1]
    with open(log_path, "w") as log:
        log.write("\n".join(lines) + "\n")
    with open(answer_path, "w") as answer:
        answer.write(f"{errors}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
