-- A catalog card's thumbnail in a column of its own. A card took it out
-- of the media's JSON with `json_extract` on every row of every page:
-- ~1.3k instructions a card, 7% of a page (callgrind, `profile_loop list
-- sqlite`). The store writes it beside `media`, from the same value.
ALTER TABLE workflows ADD COLUMN thumbnail_url TEXT;
UPDATE workflows SET thumbnail_url = json_extract(media, '$.thumbnail_url');
