"""Densify sparse keyframe annotations across many videos (``evosam batch``).

``read_jobs`` parses a JOBS.json file; ``densify_job`` propagates one video's keyframe masks
to every frame in this process; ``run_batch`` runs many jobs on Ray actors (local by default,
a cluster by address). Ray is imported only by ``run_batch``.
"""

from evosam.batch.densify import JobOutcome, densify_job, job_finished
from evosam.batch.jobs import BatchJob, read_jobs
from evosam.batch.plan import Run, plan_runs

__all__ = ["BatchJob", "JobOutcome", "Run", "densify_job", "job_finished", "plan_runs", "read_jobs"]
