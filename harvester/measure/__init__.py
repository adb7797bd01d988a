"""What a file is, measured with ffprobe, and the page's claims checked against it."""
