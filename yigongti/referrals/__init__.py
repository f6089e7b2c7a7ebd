"""Two-way referral with a green channel, closed back to the grassroots."""
