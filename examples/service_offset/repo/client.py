"""Ask the answer service once and print what it said."""

import argparse
import urllib.request

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/answer", timeout=5) as response:
        print(f"answer={response.read().decode()}")
