from diffcompare.cli import main

main()
