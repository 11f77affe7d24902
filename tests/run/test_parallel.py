import numpy as np
import pytest

from resurv.parallel import InProcessExecutor, local_executor, run_tasks, task_seeds


def _draw(task):
    seed, n = task
    return np.random.default_rng(seed).normal(size=n).round(12).tolist()


def _fail_on_three(task):
    if task == 3:
        raise ValueError("task 3 failed")
    return task * 2


def test_task_seeds_are_deterministic_and_distinct():
    assert task_seeds(7, 5) == task_seeds(7, 5)
    assert len(set(task_seeds(7, 50))) == 50
    assert task_seeds(7, 3) != task_seeds(8, 3)


def test_process_pool_gives_the_in_process_results():
    tasks = [(s, 4) for s in task_seeds(11, 6)]
    serial = run_tasks(_draw, tasks)
    with local_executor(2) as ex:
        pooled = run_tasks(_draw, tasks, executor=ex)
    assert pooled == serial


def test_checkpoints_resume_without_redoing(tmp_path):
    calls = []

    def record(task):
        calls.append(task)
        return {"value": task * 10}

    out = run_tasks(record, [1, 2, 3], keys=["a", "b", "c"], checkpoint_dir=tmp_path)
    assert out == [{"value": 10}, {"value": 20}, {"value": 30}]
    (tmp_path / "b.json").unlink()  # as if interrupted before b was stored
    calls.clear()
    again = run_tasks(record, [1, 2, 3], keys=["a", "b", "c"], checkpoint_dir=tmp_path)
    assert again == out
    assert calls == [2]


def test_errors_propagate_and_keys_are_checked():
    with pytest.raises(ValueError, match="task 3 failed"):
        run_tasks(_fail_on_three, [1, 2, 3], executor=InProcessExecutor())
    with pytest.raises(ValueError, match="keys must be unique and one per task"):
        run_tasks(_draw, [(1, 1), (2, 1)], keys=["a", "a"])


def test_progress_callback_counts_every_task():
    seen = []
    run_tasks(_fail_on_three, [1, 2], on_done=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


def test_in_process_results_are_stored_as_each_task_finishes(tmp_path):
    """An interruption after task 2 must leave task 1's checkpoint (and progress reported)."""
    seen = []

    def stop_at_two(task):
        if task == 2:
            raise KeyboardInterrupt("interrupted")
        return {"value": task}

    with pytest.raises(KeyboardInterrupt):
        run_tasks(
            stop_at_two,
            [1, 2, 3],
            keys=["a", "b", "c"],
            checkpoint_dir=tmp_path,
            on_done=lambda d, t: seen.append(d),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    assert seen == [1]
