# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per host and task: action, start and end (for benchmarks/fleet.py; not part of the collection)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: task_timer
type: aggregate
short_description: Write each task's action and duration per host as JSON lines
description:
  - Appends C({"host", "task", "action", "start", "end", "status"}) per task result to the file named by
    E(HOTDASH_TASK_TIMES). Used by the fleet benchmark to split a playbook's time.
options: {}
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get("HOTDASH_TASK_TIMES")
        self._started = {}

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _record(self, result, status):
        if not self._path:
            return
        host = result._host.get_name()
        task = result._task
        start = self._started.pop((host, task._uuid), None)
        line = dict(host=host, task=task.get_name(), action=task.action, start=start, end=time.time(), status=status)
        with open(self._path, "a") as handle:
            handle.write(json.dumps(line) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
