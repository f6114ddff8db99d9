from rajudge.cli import main

main()
