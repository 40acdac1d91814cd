"""The file family: write a file or block, take one out, remove a directory, put a file back.

Every file effect is undone by one record, `FileUndo`: the file's saved
original (or its absence) and the directories its write created. The record
is journaled before the temporary file or any directory exists, so a kill at
any instant of the write is undone completely (the undo also removes the
temporary file).

`removal_effect` is the one decision of what uninstall does to a file, from
the file as it is: the uninstall plan calls it to build the preview and the
adapter calls it again at run time, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.blocks import block_ids, insert_block, remove_block
from wizard.engine.base import ActionContext, Adapter, Prepared
from wizard.engine.journal import Journal
from wizard.engine.records import FileUndo, NoUndo
from wizard.operations import RemoveDir
from wizard.plan import markers_ok
from wizard.plan_types import FileChange, FileRemoval
from wizard.system import System
from wizard.system.files import FileState, kept_mode
from wizard.system.paths import Root


def file_undo(index: int, ctx: ActionContext, path: str, state: FileState, *,
              block: bool = False, dirs: bool = True) -> FileUndo:
    """How to put `path` back; saves its original bytes in the journal first (0600)."""
    saved = ctx.journal.save_original(index, state.data) if state.exists else None
    return FileUndo(
        path=path, existed=state.exists, mode=state.mode, uid=state.uid, gid=state.gid,
        saved=saved, dirs=tuple(ctx.system.files.missing_dirs(path)) if dirs else (),
        block=block,
    )


class WriteFileAdapter(Adapter):
    """Apply's writes: the whole file, or the wizard's block re-inserted into the file as it is."""

    ops = (FileChange,)
    records = (FileUndo,)

    def prepare(self, op: FileChange, index: int, ctx: ActionContext) -> Prepared:
        files = ctx.system.files
        state = files.state(op.path)  # refuses a link or special file, at apply time too
        if op.block is not None:
            current = state.data.decode("utf-8", "surrogateescape") if state.exists else None
            markers_ok(op.path, current, op.block.comment)
            new = insert_block(current, op.block).encode("utf-8", "surrogateescape")
        else:
            new = op.after.encode("utf-8", "surrogateescape")
        mode = kept_mode(state.mode, op.mode) if state.mode is not None else op.mode
        if state.data == new and state.mode == mode:
            return Prepared(already=True)
        undo = file_undo(index, ctx, op.path, state, block=op.block is not None)

        def do() -> None:
            files.write(op.path, new, mode, state.uid, state.gid)
            ctx.written.add(op.path)

        return Prepared(undo=undo, do=do)

    def undo(self, record: FileUndo, system: System, journal: Journal) -> None:
        files = system.files
        files.remove_tmp(record.path)  # a write killed between its temporary file and the rename
        if record.existed:
            data = journal.read_original(record.saved or "")
            now = files.state(record.path)
            if now.data != data or now.mode != record.mode:
                files.write(record.path, data, record.mode or 0o644, record.uid, record.gid)
        else:
            files.remove(record.path)
            files.remove_empty_dirs(list(record.dirs))

    def undo_argv(self, op: FileChange) -> tuple[str, ...]:
        if op.before is None:
            return ("rm", op.path)
        return ("restore", op.path, "(its bytes, mode and owner before)")


@dataclass(frozen=True)
class Effect:
    """What uninstall does to one file, decided from the file as it is.

    Attributes:
        already: nothing of the wizard's is in it (or it is already the original).
        skipped: why it is left as it is, when that is not an error.
        data: the bytes it is written with (None with `already`/`skipped`, or when removed).
        mode: the mode it is written with.
        uid, gid: its owner after.
        removed: the file goes.
    """

    already: bool = False
    skipped: str | None = None
    data: bytes | None = None
    mode: int = 0o644
    uid: int | None = None
    gid: int | None = None
    removed: bool = False


def removal_effect(op: FileRemoval, state: FileState) -> Effect:
    """What uninstall does to `op.path`, holding `state` now.

    A whole file that replaced the operator's own one is put back as it was
    (bytes, mode, owner: from the baseline) instead of being deleted. A whole
    file no journal says the wizard wrote is removed only if it is exactly
    what the wizard would write (`op.ours`); anything else there is the
    operator's and stays. A block is taken out, and a file the wizard created
    goes once only its skeleton is left.
    """
    if op.original is not None:
        mode = op.old_mode or 0o644
        if state.data == op.original and state.mode == mode:
            return Effect(already=True)
        return Effect(data=op.original, mode=mode, uid=op.uid, gid=op.gid)
    if not state.exists:
        return Effect(already=True)
    if op.block is None:
        if not op.known and state.data != op.ours:
            return Effect(skipped=f"{op.path} was not written by the wizard (no journal "
                          "records it, and it differs from the wizard's); left in place")
        if op.existed:
            return Effect(skipped=f"{op.path} replaced the operator's own file, whose "
                          "original is no longer kept; left in place")
        return Effect(removed=True)
    text = (state.data or b"").decode("utf-8", "surrogateescape")
    markers_ok(op.path, text, op.block.comment)
    left = remove_block(text, op.block)
    if left == text:
        return Effect(already=True)
    # A file the wizard created is only its skeleton once the blocks are out.
    skeleton = remove_block(insert_block(None, op.block), op.block)
    only_ours = not block_ids(left, op.block.comment) and left.strip() in ("", skeleton.strip())
    if op.existed or not only_ours:  # the operator's file, however little is left of it
        mode = state.mode or 0o644
        if (op.existed and op.old_mode is not None
                and mode == kept_mode(op.old_mode, op.planned_mode)
                and not block_ids(left, "#")):
            mode = op.old_mode  # the wizard tightened it for its keys; the last of them is gone
        return Effect(data=left.encode("utf-8", "surrogateescape"), mode=mode,
                      uid=state.uid, gid=state.gid)
    return Effect(removed=True)


class RemoveFileAdapter(Adapter):
    """Uninstall's file changes: the block out, the file removed, or the operator's put back."""

    ops = (FileRemoval,)
    records = ()  # undone by WriteFileAdapter: the same FileUndo puts any file back

    def prepare(self, op: FileRemoval, index: int, ctx: ActionContext) -> Prepared:
        files = ctx.system.files
        state = files.state(op.path)
        effect = removal_effect(op, state)
        if effect.already or effect.skipped:
            return Prepared(already=effect.already, skipped=effect.skipped)
        undo = file_undo(index, ctx, op.path, state, dirs=False)

        def do() -> None:
            if effect.removed:
                files.remove(op.path)  # its directory goes by a RemoveDir of the same plan
            else:
                assert effect.data is not None
                files.write(op.path, effect.data, effect.mode, effect.uid, effect.gid)
            ctx.written.add(op.path)

        return Prepared(undo=undo, do=do)

    def undo_argv(self, op: FileRemoval) -> tuple[str, ...]:
        return ("restore", op.path, "(its bytes, mode and owner before)")


def dir_removable(root: Root, op: RemoveDir) -> bool:
    """Whether `op.path` is a directory holding nothing but what `op.ours` lists.

    The uninstall plan asks this for its preview and the adapter again at run
    time; the files the same uninstall removes count as gone, so a dry run
    (which removes nothing) says what the run does.
    """
    ours = set(op.ours) | {op.path}

    def removable(d: str) -> bool:
        local = root.path(d)
        if not local.is_dir() or local.is_symlink():
            return d != op.path and local.is_file() and not local.is_symlink()
        return all(f"{d}/{p.name}" in ours and removable(f"{d}/{p.name}")
                   for p in local.iterdir())

    return removable(op.path)


class RemoveDirAdapter(Adapter):
    """A directory the wizard created, removed if nothing but such directories is left in it."""

    ops = (RemoveDir,)
    records = (NoUndo,)

    def prepare(self, op: RemoveDir, index: int, ctx: ActionContext) -> Prepared:
        if not dir_removable(ctx.system.root, op):
            return Prepared(already=True)
        return Prepared(undo=NoUndo(),
                        do=lambda: ctx.system.files.remove_empty_dirs([op.path]))

    def undo(self, record: NoUndo, system: System, journal: Journal) -> None:
        """Nothing: a directory the wizard made comes back with the first file written into it."""

    def undo_argv(self, op: RemoveDir) -> tuple[str, ...]:
        return ("mkdir", op.path)
