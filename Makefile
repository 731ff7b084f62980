# Shortcuts for the two README commands.
.PHONY: demo test
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
