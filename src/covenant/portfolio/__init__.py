"""Many agreements in one run.

The portfolio file, facts routed by agreement, batches of agreements,
the backends that evaluate them (in process, worker processes, Dask) and
the streamed report.
"""
