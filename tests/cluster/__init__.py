"""Test clusters built on this machine (network-namespace nodes); see netns.py."""
