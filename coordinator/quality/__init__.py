"""What happens to an item once people answered it: gold checks, consensus, review, pay."""
