from curata_ui.cli import main

main()
