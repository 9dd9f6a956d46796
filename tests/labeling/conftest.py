"""Fixtures for the labeling tests.

The Label Studio fixtures live in the ``tests.fixtures.label_studio`` plugin; they are imported
here so this folder works before the plugin is registered in the root ``addopts``.
"""

from tests.fixtures.label_studio import label_studio, ls_env  # noqa: F401
