<?php
/*
 * VideoObject JSON pasted into a WordPress post, as WordPress prints it.
 *
 * Regenerate (needs php-cli and the Debian "wordpress" package):
 *     php scripts/wptexturize_cases.php tests/samples
 * which writes wptexturize-cases.json (every case, both forms) and one page
 * holding all the cases in each form, wptexturize-html.html and
 * wptexturize-text.txt (their .expected.json golden files are written by
 * the tests' own extraction, not here).
 *
 * Each case's "source" is real-shaped VideoObject JSON.  It goes through what
 * WordPress does to a post's body: stripslashes() (backslashes lost on save:
 * \" becomes ", \n becomes n), then the_content's wptexturize() and wpautop()
 * from wp-includes/formatting.php, which give the "html" form (&#8220;
 * entities, <br /> line breaks, <p> paragraphs).  The "text" form is that
 * HTML as a scraper saves the visible text: tags dropped (a <br /> a line
 * break, a paragraph a blank line) and entities decoded, so the curly quotes
 * are characters.  A case with "corrupt" has a stretch of its printed text
 * replaced afterwards, as an editor's slip would, and the fields named in
 * its "lost" do not survive.  "expected" holds the fields the source declares
 * (name, duration, contentUrl, embedUrl) that must survive.
 */

// The few WordPress functions formatting.php calls, reduced to their defaults.
function _x($text, $context) { return $text; }
function __($text) { return $text; }
function apply_filters($tag, $value) { return $value; }
$shortcode_tags = array();
require '/usr/share/wordpress/wp-includes/formatting.php';

function video($fields) {
    return array_merge(array('@context' => 'https://schema.org', '@type' => 'VideoObject'), $fields);
}

$cases = array(
    array('id' => 'quoted-words', 'source' => video(array(
        'name' => 'Harbour strike: day two',
        'description' => 'Union leaders called the offer "an insult", adding that talks would resume on Monday.',
        'duration' => 'PT1M30S',
        'thumbnailUrl' => 'https://media.example.org/2025/04/harbour-strike.jpg',
        'uploadDate' => '2025-04-08T14:59:27+01:00',
        'contentUrl' => 'https://media.example.org/2025/04/harbour-strike/1920x1080.mp4',
    ))),
    array('id' => 'quote-before-comma', 'source' => video(array(
        'name' => 'Royal visit',
        'description' => 'Prince William speaks about his family: "We are so proud of her", he told Kate Middleton. ',
        'duration' => 'PT46S',
        'thumbnailUrl' => 'https://media.example.org/royal/visit.jpg',
        'uploadDate' => '2025-03-05T14:21:27+00:00',
        'contentUrl' => 'https://media.example.org/royal/visit-480x270.mp4',
        'height' => 270,
        'width' => 480,
    ))),
    array('id' => 'quote-opens-value', 'source' => video(array(
        'name' => '"Not again," says mayor',
        'description' => '"We are ready," the minister said... "The rest is up to them."',
        'duration' => 'PT2M5S',
        'uploadDate' => '2025-02-01T09:00:00+00:00',
        'embedUrl' => 'https://player.example.org/embed/8350744987245984723',
    ))),
    array('id' => 'quoted-key-lookalike', 'source' => video(array(
        'name' => 'Quiz night',
        'description' => 'Answer "yes", "no": or "maybe" -- the choice is yours, 1920x1080 (c) 2025.',
        'duration' => 'PT3M',
        'contentUrl' => 'https://media.example.org/quiz--night/1280x720.mp4',
    ))),
    array('id' => 'apostrophes-dashes', 'source' => video(array(
        'name' => "Rock 'n' roll's '90s -- a look back...",
        'description' => "It's the band's 12\" single (c) 1994 -- remastered in 1920x1080...\n\nWatch 'til the end.",
        'duration' => 'PT4M12S',
        'thumbnailUrl' => 'https://media.example.org/rock--roll/640x360.jpg',
        'uploadDate' => '2025-01-10T08:00:00+00:00',
        'contentUrl' => 'https://media.example.org/rock--roll/1920x1080.mp4',
    ))),
    array('id' => 'pretty-printed', 'pretty' => true, 'source' => video(array(
        'name' => 'Storm "Ciara" hits the coast',
        'description' => "Waves of 9' and gusts of 80mph.\n\nResidents said: \"It's the worst we've seen\", and \"the sea wall -- finally -- held\".",
        'duration' => 'PT58S',
        'thumbnailUrl' => 'https://media.example.org/storm/ciara.jpg',
        'uploadDate' => '2025-02-09T18:30:00+00:00',
        'contentUrl' => 'https://media.example.org/storm/ciara-1280x720.mp4',
        'embedUrl' => 'https://player.example.org/embed/ciara',
    ))),
    array('id' => 'nested-in-article', 'source' => array(
        '@context' => 'https://schema.org',
        '@type' => 'NewsArticle',
        'headline' => 'Ferry "chaos" as crews walk out',
        'video' => array(
            '@type' => 'VideoObject',
            'name' => 'Ferry strike',
            'description' => 'Crews\' union says talks -- if any -- start "after Easter".',
            'duration' => 'PT1M5S',
            'thumbnailUrl' => 'https://media.example.org/ferry.jpg',
            'uploadDate' => '2025-04-08T14:59:27+01:00',
            'contentUrl' => 'https://media.example.org/ferry--strike/480x270.mp4',
        ),
    )),
    array('id' => 'corrupt-middle', 'source' => video(array(
        'name' => 'Market report',
        'thumbnailUrl' => array('https://media.example.org/market/a.jpg', 'https://media.example.org/market/b.jpg'),
        'description' => 'Shares fell 3% in "early trading".',
        'duration' => 'PT1M12S',
        'uploadDate' => '2025-04-01T07:00:00+00:00',
        'contentUrl' => 'https://media.example.org/market/report-640x360.mp4',
    )), 'corrupt' => array('b.jpg&#8221;],', 'b.jpg&#8221;},'), 'lost' => array('thumbnailUrl')),
    array('id' => 'corrupt-lost-colon', 'source' => video(array(
        'name' => 'Council "votes no"',
        'description' => 'The vote was 7-2 -- "a clear answer", the leader said.',
        'uploadDate' => '2025-04-02T10:00:00+00:00',
        'duration' => 'PT2M40S',
        'embedUrl' => 'https://player.example.org/embed/council-vote',
    )), 'corrupt' => array('&#8221;uploadDate&#8221;:', '&#8221;uploadDate&#8221; '), 'lost' => array('uploadDate')),
);

function printed($source, $pretty) {
    $flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | ($pretty ? JSON_PRETTY_PRINT : 0);
    $post = "Passengers were stranded on Tuesday.\n\n" . json_encode($source, $flags)
          . "\n\nTo view this video please enable JavaScript.";
    return wpautop(wptexturize(stripslashes($post)));
}

function visible_text($html) {
    $text = preg_replace('#<br\s*/?>\n?#', "\n", $html);
    $text = preg_replace('#</p>\s*#', "\n\n", $text);
    return trim(html_entity_decode(strip_tags($text), ENT_QUOTES | ENT_HTML5, 'UTF-8')) . "\n";
}

$out = array();
foreach ($cases as $case) {
    $source = $case['source'];
    $html = printed($source, !empty($case['pretty']));
    if (isset($case['corrupt'])) {
        $html = str_replace($case['corrupt'][0], $case['corrupt'][1], $html);
    }
    $video = isset($source['video']) ? $source['video'] : $source;
    $expected = array();
    $lost = isset($case['lost']) ? $case['lost'] : array();
    foreach (array('name', 'duration', 'contentUrl', 'embedUrl') as $key) {
        if (isset($video[$key]) && !in_array($key, $lost)) {
            $expected[$key] = $video[$key];
        }
    }
    $out[] = array(
        'id' => $case['id'],
        'source' => json_encode($source, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE),
        'corrupt' => isset($case['corrupt']),
        'lost' => $lost,
        'html' => $html,
        'text' => visible_text($html),
        'expected' => $expected,
    );
}
$dir = isset($argv[1]) ? rtrim($argv[1], '/') : '.';
$json = json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
file_put_contents("$dir/wptexturize-cases.json", $json . "\n");
$html = '';
$text = '';
foreach ($out as $case) {
    $html .= $case['html'];
    $text .= $case['text'] . "\n";
}
file_put_contents("$dir/wptexturize-html.html", "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    . "<title>Videos &#8211; News</title></head>\n<body><article class=\"post\">\n"
    . $html . "</article></body></html>\n");
file_put_contents("$dir/wptexturize-text.txt", $text);
