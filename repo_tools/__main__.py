from repo_tools.cli import main

main()
