"""PyInstaller hook for `client`: collect what the embedded client imports lazily.

Which modules, and why some are left out: client/_pyinstaller/__init__.py.
"""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules

from client._pyinstaller import collected

hiddenimports = collect_submodules("client", filter=collected)
# client.transport verifies TLS against certifi.where(), a file: it must be in the bundle
datas = collect_data_files("certifi")
