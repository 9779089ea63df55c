"""PyInstaller hook for desktop-notifier (the `[notify]` extra): its icons and sounds live in the
package `desktop_notifier.resources`, which it loads by name, so PyInstaller's import scan
misses it; without this a frozen application's OS notifications fail at the first one."""

from PyInstaller.utils.hooks import collect_data_files

hiddenimports = ["desktop_notifier.resources"]
datas = collect_data_files("desktop_notifier")
