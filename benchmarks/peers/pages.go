package main

import (
	"bytes"
	"fmt"
	"html"
	"math/rand/v2"
	"strings"
)

// The site is a newspaper of n pages. Page 0 is the front page, pages 1 to
// 10 are the section fronts, and the rest are articles. Every page links
// to its children in a tree of fanout treeFanout, so a crawl from the
// front page reaches all of them, and also to its parent, the section
// fronts, a few service pages and a random set of related articles, most
// of which a crawler has already seen by the time it gets there. A few
// links leave the site or point into the page itself; neither is to be
// fetched.
// Pages are minPageSize to maxPageSize bytes, plus up to the length of one
// paragraph, about 1 KB.
const (
	treeFanout  = 4
	minPageSize = 15000
	maxPageSize = 29000
	minRelated  = 8
	maxRelated  = 24
)

var sections = []string{
	"world", "business", "science", "technology", "health",
	"sport", "culture", "travel", "opinion", "weather",
}

// footerPages are linked from every footer; their page numbers follow the
// section fronts.
var footerPages = []string{"About us", "Contact", "Privacy", "Terms of use"}

// words feed the generated titles and prose.
var words = strings.Fields(`
	the of and to in a is that for it as was with be by on not he this are or his from
	at which but have an they you were her she there been one all we their has would when
	if so no will more can out up about who into them only some could time these two may
	first then do any like my now over such our man me even most made after also did
	many before must through back years where much your way well down should because each
	just those people how too little state good very make world still own see men work long
	get here between both life being under never day same another know while last might us
	great old year off come since against go came right used take three himself few house
	use during without again place around however home small found thought went say part
	once general high upon school every does got united left number course war until always
	away something fact though water less public put think almost hand enough far took head
	yet government system better set told nothing night end why called eyes find going look
	asked later knew point next program city business give group toward young days let room
	president side social given present several order national possible rather second face
	per among form important often things looked early white case john become large big need
	four within felt along children saw best church ever least power development light
	market harbour river council budget report science season museum garden railway bridge`)

// pageSet holds the generated site. It is read-only once made, so safe
// for concurrent use.
type pageSet struct {
	paths  []string
	index  map[string]int
	bodies [][]byte
	// size and links total the bodies' bytes and their a[href] elements.
	size, links int64
}

func (p *pageSet) len() int          { return len(p.paths) }
func (p *pageSet) body(i int) []byte { return p.bodies[i] }

func (p *pageSet) lookup(path string) (int, bool) {
	i, ok := p.index[path]
	return i, ok
}

// generate makes n pages. The same n always gives the same site.
func generate(n int) *pageSet {
	p := &pageSet{paths: make([]string, n), index: make(map[string]int, n),
		bodies: make([][]byte, n)}
	titles := make([]string, n)
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
		titles[i] = pageTitle(i, rng)
		p.paths[i] = pagePath(i, titles[i])
		p.index[p.paths[i]] = i
	}
	for i := range n {
		g := &pageWriter{rng: rand.New(rand.NewPCG(uint64(i), 0xb0d1)), paths: p.paths,
			titles: titles}
		p.bodies[i] = g.page(i)
		p.size += int64(len(p.bodies[i]))
		p.links += int64(g.links)
	}
	return p
}

func pageTitle(i int, rng *rand.Rand) string {
	switch {
	case i == 0:
		return "Front page"
	case i <= len(sections):
		return capitalize(sections[i-1])
	case i <= len(sections)+len(footerPages):
		return footerPages[i-len(sections)-1]
	}
	return capitalize(phrase(rng, 4+rng.IntN(6)))
}

func pagePath(i int, title string) string {
	switch {
	case i == 0:
		return "/"
	case i <= len(sections):
		return "/" + sections[i-1] + "/"
	}
	slug := strings.ToLower(strings.Join(strings.Fields(title), "-"))
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-")
	}
	return fmt.Sprintf("/%s/%d-%s", sections[i%len(sections)], i, slug)
}

func phrase(rng *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = words[rng.IntN(len(words))]
	}
	return strings.Join(w, " ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// pageWriter writes one page. It is not safe for concurrent use.
type pageWriter struct {
	rng    *rand.Rand
	paths  []string
	titles []string
	b      bytes.Buffer
	links  int
}

func (g *pageWriter) link(href, text string) {
	fmt.Fprintf(&g.b, `<a href="%s">%s</a>`, html.EscapeString(href), html.EscapeString(text))
	g.links++
}

func (g *pageWriter) pageLink(j int) { g.link(g.paths[j], g.titles[j]) }

func (g *pageWriter) page(i int) []byte {
	n := len(g.paths)
	target := minPageSize + g.rng.IntN(maxPageSize-minPageSize)
	related := make([]int, minRelated+g.rng.IntN(maxRelated-minRelated+1))
	for k := range related {
		related[k] = g.rng.IntN(n)
	}

	// The end of the page is written first, so that the article can take
	// what is left of the target size.
	g.aside(related[len(related)/2:])
	g.children(i)
	g.b.WriteString("</main>\n")
	g.footer(i)
	g.b.WriteString("</body>\n</html>\n")
	tail := bytes.Clone(g.b.Bytes())
	g.b.Reset()

	g.head(i)
	g.b.WriteString("<body>\n")
	g.link("#content", "Skip to content")
	g.nav()
	g.b.WriteString(`<main id="content">` + "\n")
	g.breadcrumb(i)
	g.article(i, related[:len(related)/2], target-len(tail))
	g.b.Write(tail)
	return bytes.Clone(g.b.Bytes())
}

func (g *pageWriter) head(i int) {
	fmt.Fprintf(&g.b, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s | The Loopback Courier</title>
<meta name="description" content="%s">
<meta property="og:title" content="%s">
<meta property="og:type" content="article">
<link rel="canonical" href="%s">
<link rel="stylesheet" href="/static/courier.css">
<style>
body{font-family:Georgia,serif;margin:0;color:#222;background:#fdfdfb}
header nav ul{display:flex;gap:1rem;list-style:none;padding:.5rem 1rem;margin:0;background:#123}
header nav a{color:#eee;text-decoration:none;font-family:Helvetica,Arial,sans-serif}
main{max-width:46rem;margin:0 auto;padding:1rem}
.skip{position:absolute;left:-999px}
.byline{color:#666;font-size:.9rem}
aside{border-top:1px solid #ccc;margin-top:2rem}
footer{background:#eee;padding:1rem;font-size:.85rem}
</style>
</head>
`, html.EscapeString(g.titles[i]), html.EscapeString(phrase(g.rng, 18)),
		html.EscapeString(g.titles[i]), g.paths[i])
}

func (g *pageWriter) nav() {
	g.b.WriteString("\n<header><nav><ul>\n")
	for s := range sections {
		g.b.WriteString("<li>")
		g.pageLink(s + 1)
		g.b.WriteString("</li>\n")
	}
	g.b.WriteString("</ul></nav></header>\n")
}

func (g *pageWriter) breadcrumb(i int) {
	if i == 0 {
		return
	}
	g.b.WriteString(`<nav class="breadcrumb">`)
	g.link("/", "Home")
	g.b.WriteString(" &rsaquo; ")
	g.pageLink((i - 1) / treeFanout)
	g.b.WriteString("</nav>\n")
}

// article writes the headline and prose until the page is about end
// bytes long; the related pages are linked from within the paragraphs.
func (g *pageWriter) article(i int, related []int, end int) {
	fmt.Fprintf(&g.b, "<article>\n<h1>%s</h1>\n", html.EscapeString(g.titles[i]))
	fmt.Fprintf(&g.b, `<p class="byline">By %s, %d %s 2026</p>`+"\n",
		capitalize(phrase(g.rng, 2)), 1+g.rng.IntN(28), monthName(g.rng.IntN(12)))
	for p := 0; g.b.Len() < end; p++ {
		if p > 0 && p%4 == 0 {
			fmt.Fprintf(&g.b, "<h2>%s</h2>\n", capitalize(phrase(g.rng, 3+g.rng.IntN(4))))
		}
		g.paragraph(&related)
	}
	g.b.WriteString("</article>\n")
}

// paragraph writes 3 to 7 sentences, linking the next related page from
// one of them while any remain.
func (g *pageWriter) paragraph(related *[]int) {
	g.b.WriteString("<p>")
	sentences := 3 + g.rng.IntN(5)
	linkAt := -1
	if len(*related) > 0 {
		linkAt = g.rng.IntN(sentences)
	}
	for s := range sentences {
		g.b.WriteString(capitalize(phrase(g.rng, 8+g.rng.IntN(14))))
		if s == linkAt {
			g.b.WriteString(", as reported in ")
			g.pageLink((*related)[0])
			*related = (*related)[1:]
		}
		g.b.WriteString(". ")
	}
	g.b.WriteString("</p>\n")
}

func (g *pageWriter) aside(related []int) {
	g.b.WriteString("<aside>\n<h2>Related</h2>\n<ul>\n")
	for _, j := range related {
		g.b.WriteString("<li>")
		g.pageLink(j)
		g.b.WriteString("</li>\n")
	}
	g.b.WriteString("</ul>\n</aside>\n")
}

func (g *pageWriter) children(i int) {
	first := i*treeFanout + 1
	if first >= len(g.paths) {
		return
	}
	g.b.WriteString(`<section class="more">` + "\n<h2>More on this</h2>\n<ul>\n")
	for j := first; j < min(first+treeFanout, len(g.paths)); j++ {
		g.b.WriteString("<li>")
		g.pageLink(j)
		fmt.Fprintf(&g.b, " <span>%s.</span></li>\n", capitalize(phrase(g.rng, 12)))
	}
	g.b.WriteString("</ul>\n</section>\n")
}

// footer links the service pages, which are ordinary pages of the site,
// and three places a crawler confined to the site must not fetch.
func (g *pageWriter) footer(i int) {
	g.b.WriteString("<footer>\n<ul>\n")
	for k := range footerPages {
		g.b.WriteString("<li>")
		g.pageLink(len(sections) + 1 + k)
		g.b.WriteString("</li>\n")
	}
	g.b.WriteString("<li>")
	g.link(fmt.Sprintf("https://share.example.com/?u=%s", g.paths[i]), "Share")
	g.b.WriteString("</li>\n<li>")
	g.link(fmt.Sprintf("https://partner.example.org/story/%d", i), "Partner edition")
	g.b.WriteString("</li>\n<li>")
	g.link("mailto:desk@courier.example", "Write to the desk")
	g.b.WriteString("</li>\n</ul>\n")
	fmt.Fprintf(&g.b, `<script type="application/ld+json">{"@type":"NewsArticle",`+
		`"headline":%q,"url":%q}</script>`+"\n</footer>\n", g.titles[i], g.paths[i])
}

func monthName(m int) string {
	return [...]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}[m]
}
