"""Benchmark suites: find cases, skip the finished ones, run the rest in isolation, build a leaderboard."""

from __future__ import annotations

from remoroo.bench.cases import BenchCase, discover
from remoroo.bench.leaderboard import Leaderboard, build_leaderboard, write_leaderboard
from remoroo.bench.runner import BenchOptions, CaseResult, run_suite

__all__ = ["BenchCase", "BenchOptions", "CaseResult", "Leaderboard", "build_leaderboard", "discover", "run_suite",
           "write_leaderboard"]
