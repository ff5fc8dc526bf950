"""Declarations travel to the workers in tasks of about TASK_LINES lines (one batch check per task): every
declaration in exactly one task, in the order the index found them, each task closed by the declaration that
brings it to the size, the rest in a last one."""
from fixtures.generator import generate
from gateway.ingest import DeclarationTask, TaskBatches, index_file
from gateway.validate.registry import DEFAULT_RULES


def _lines(task: DeclarationTask) -> int:
    return sum(span.span.lines for span in task.spans)


def test_declarations_are_cut_into_tasks_of_about_the_size_without_loss_or_reordering(tmp_path):
    generate(tmp_path, people=30, employers=6, bodies=2, months=2, seed=4)
    found = [item for path in sorted(tmp_path.rglob("*.dsn")) for item in index_file(str(path), DEFAULT_RULES)
             if isinstance(item, DeclarationTask)]
    size = sorted(_lines(task) for task in found)[len(found) // 2] * 3      # about three declarations a task
    batches = TaskBatches(size)
    tasks = [full for task in found if (full := batches.add(task))]
    rest = batches.rest()
    assert len(tasks) >= 3 and rest != tasks[-1]
    assert [task for batch in (*tasks, rest) for task in batch] == found
    for batch in tasks:
        assert sum(map(_lines, batch)) >= size > sum(map(_lines, batch[:-1]))
    assert sum(map(_lines, rest)) < size
