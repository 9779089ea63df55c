"""PyInstaller pre-find hook for `client`: find an editable install (`pip install -e .`).

Such an install is reached through an import finder that PyInstaller's module search does
not consult, so a build would fail with "No module named 'client'". When no search folder
holds the client, the folder holding this hook's own client package is searched.
"""

from pathlib import Path


def pre_find_module_path(api) -> None:  # noqa: ANN001 - PyInstaller's PreFindModulePathAPI
    if any((Path(folder) / "client" / "__init__.py").is_file() for folder in api.search_dirs):
        return  # an installed client, or one given with --paths: PyInstaller finds it itself
    client_package = Path(__file__).resolve().parents[2]
    api.search_dirs = [*api.search_dirs, str(client_package.parent)]
