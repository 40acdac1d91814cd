"""The apply engine: operations with their adapters, typed undo records, journaled transactions.

Modules, one job each:

* `records`     - the typed undo records the journal holds, and their strict reader;
* `journal`     - the on-disk transaction log (steps, undo records, states) and the lock;
* `timer`       - starting and stopping the detached revert timer (`wizard.revert_timer`);
* `base`        - the adapter contract and what an action's preparation returns;
* `adapters`    - one adapter per command family: look, do, undo, preview the undo;
* `files`       - the file family (write, take out, restore, rmdir) and uninstall's decision;
* `actions`     - the registry of adapters, and a plan flattened into actions;
* `transaction` - running actions as one journaled transaction; rollback and confirm.

`wizard.apply` is the public face the front ends use.
"""
