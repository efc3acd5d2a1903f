from earnest.cli import main

main()
