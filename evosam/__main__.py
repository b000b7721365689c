from evosam.cli import main

raise SystemExit(main())
