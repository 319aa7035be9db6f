"""`list_version_loaded`: sent once a new list version is committed and current.

Receivers get `sender=ListVersion` and `version=` (the new ListVersion). It is sent for every load,
also one that changed nothing (`version.added == version.changed == version.removed == 0`): a
receiver that re-screens clients can skip those. It is never sent for a load that was rolled back.
"""

from django.dispatch import Signal

list_version_loaded = Signal()
