"""Benchmark stemtrace against what users would pick instead: stemtrace 0.4.5 and Flower."""
