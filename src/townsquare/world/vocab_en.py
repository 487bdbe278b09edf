"""English vocabulary of the sample world: per-topic words and sentences, templates and slots.

Lists are written as "a|b|c" strings to keep the file short. Templates use `str.format` slots:
{thing} {act} {pos} {neg} {pex} {nex} {dp} {p} for everyday posts, {h} for the handle replied to, and
{brand} {product} {support} {feature} {task} {issue} {situation} {cex} for the brand.
"""

from __future__ import annotations


def _l(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split("|"))


TOPICS = {
    "tech": dict(
        things=_l("the new laptop|this software update|my phone's camera|the new earbuds|this AI assistant|"
                  "my smartwatch|the beta version of the app|the new graphics card|my mechanical keyboard|"
                  "the home wifi router|this password manager|the robot vacuum|the new tablet|the VR headset|"
                  "this coding tutorial|the open-source editor|my e-reader|the cloud backup service"),
        acts=_l("tried|set up|installed|tested|upgraded to|switched to"),
        tags=_l("#tech|#gadgets|#AI|#productivity|#software|#devlife"),
        pos=_l("The battery lasts all day.|Setup took two minutes.|Everything just syncs now.|"
               "Fast, quiet and well built.|Finally a product that respects my time."),
        neu=_l("Specs look decent on paper.|The review embargo lifts tomorrow.|Still deciding between two models.|"
               "Release notes are out.|Benchmarks coming this week."),
        neg=_l("It crashed twice already.|The update broke my settings.|Customer support never answered.|"
               "Battery drains overnight.|Too many bugs for the price."),
    ),
    "sports": dict(
        things=_l("last night's match|the new coach|our midfield|the marathon route|the derby|"
                  "this season's transfer|the referee's call|the home stadium|my morning run|"
                  "the penalty shootout|the tennis final|the cycling stage|the new away kit|the team's defence|"
                  "the league table|the rookie's debut"),
        acts=_l("watched|went to|streamed|followed|caught"),
        tags=_l("#football|#sports|#matchday|#running|#NBA|#tennis"),
        pos=_l("What a comeback!|The atmosphere was electric.|Three points, well deserved.|"
               "That goal will be replayed for years.|Personal best this morning."),
        neu=_l("Kick-off is at eight.|Lineups drop an hour before the game.|Training resumes Monday.|"
               "Tickets go on sale Friday.|The draw is tomorrow."),
        neg=_l("We defended like amateurs.|Another injury, unbelievable.|That red card ruined the game.|"
               "Sack the manager already.|Worst performance all season."),
    ),
    "food": dict(
        things=_l("the ramen at that new place|homemade sourdough|the street tacos downtown|"
                  "my grandma's dumpling recipe|the new bubble tea shop|this vegan burger|the hotpot place near work|"
                  "the weekend brunch spot|the spicy noodles|the chocolate cake I baked|the farmers market peaches|"
                  "the sushi set lunch|the night market skewers|this cold brew|the pasta from scratch|"
                  "the Sichuan restaurant"),
        acts=_l("tried|ate|ordered|cooked|had|made"),
        tags=_l("#foodie|#food|#homecooking|#brunch|#ramen|#yum"),
        pos=_l("The broth was rich and deep.|Portions are huge.|Crispy outside, soft inside.|Worth the queue.|"
               "Already planning to go back."),
        neu=_l("Opens at eleven on weekends.|Cash only, apparently.|The menu changes every month.|"
               "Trying a new recipe tonight.|Reservations recommended."),
        neg=_l("Waited an hour for cold food.|Way too salty.|The service was rude.|Tiny portions for the price.|"
               "Found a hair in my bowl."),
    ),
    "travel": dict(
        things=_l("the night train to Vienna|our beach hotel|the mountain hike|the old town walking tour|"
                  "this budget airline|the airport lounge|the island ferry|our road trip|the hostel in Lisbon|"
                  "the tea plantation tour|the ski resort|the flight upgrade|the desert camp|the lake cabin|"
                  "the city bike rental|the museum pass"),
        acts=_l("booked|took|did|tried|went on|used"),
        tags=_l("#travel|#wanderlust|#travelgram|#roadtrip|#holiday|#backpacking"),
        pos=_l("The view from the top was unreal.|Staff went out of their way.|Every stop was worth it.|"
               "Sunsets every single night.|Best trip in years."),
        neu=_l("Packing list ready.|Visa paperwork done.|Flight leaves at six.|Comparing routes for next month.|"
               "Checking the weather forecast."),
        neg=_l("Flight delayed five hours.|They lost my luggage.|The room smelled of smoke.|"
               "Hidden fees everywhere.|Overbooked and no apology."),
    ),
    "music": dict(
        things=_l("the new album|last night's concert|this playlist|the festival lineup|the band's comeback single|"
                  "my vinyl collection|the jazz bar downtown|the acoustic cover|the live session|the opening act|"
                  "the remastered edition|the music video|the orchestra's season opener|my guitar practice|"
                  "the karaoke night|the indie record"),
        acts=_l("listened to|went to|played|heard|streamed|saw"),
        tags=_l("#music|#nowplaying|#newmusic|#concert|#vinyl|#livemusic"),
        pos=_l("The vocals gave me chills.|On repeat all day.|The encore was perfect.|Every track is a banger.|"
               "The sound mix was flawless."),
        neu=_l("Tour dates announced.|Tickets drop Friday.|Tracklist leaked today.|Rehearsing the same riff again.|"
               "Queueing at the venue."),
        neg=_l("The sound was muddy.|Tickets sold out in seconds to bots.|The set was barely an hour.|"
               "Autotune everywhere.|Totally forgettable lyrics."),
    ),
    "finance": dict(
        things=_l("the interest rate decision|my index fund|the earnings call|this budgeting app|the housing market|"
                  "my savings plan|the new credit card|the crypto rally|the bank's mobile app|the quarterly report|"
                  "the pension update|the stock split|the inflation figures|my emergency fund|the tax refund|"
                  "the dividend payout"),
        acts=_l("checked|read|followed|looked at|reviewed|opened"),
        tags=_l("#finance|#investing|#stocks|#personalfinance|#markets|#money"),
        pos=_l("Portfolio is finally green.|Fees are tiny.|Compound interest doing its thing.|"
               "Hit my savings goal early.|Solid numbers across the board."),
        neu=_l("Markets open in an hour.|Rebalancing this weekend.|Reading the annual report.|"
               "Watching the bond yields.|Minutes are out on Wednesday."),
        neg=_l("Lost a quarter of my savings.|Fees ate all the gains.|The app froze during the dip.|"
               "Rent up again this year.|Terrible guidance from management."),
    ),
    "gaming": dict(
        things=_l("the new open-world game|this roguelike|the latest patch|ranked mode|the co-op campaign|"
                  "the indie puzzle game|the battle pass|the speedrun|the new console|the boss fight|the remake|"
                  "the esports final|the retro handheld|the survival mode|the cloud gaming service|the DLC"),
        acts=_l("played|finished|tried|beat|streamed|downloaded"),
        tags=_l("#gaming|#gamer|#esports|#indiegames|#nintendo|#pcgaming"),
        pos=_l("Sixty hours in and still hooked.|The art style is gorgeous.|Controls feel tight.|"
               "Finally beat it after twenty tries.|Best soundtrack in ages."),
        neu=_l("Servers go live at noon.|Patch notes are up.|Downloading the update.|Looking for a squad tonight.|"
               "Streaming at nine."),
        neg=_l("Full of microtransactions.|Crashes every half hour.|Matchmaking is broken.|Pay to win garbage.|"
               "Lag spikes all night."),
    ),
    "movies": dict(
        things=_l("the new sci-fi film|the director's cut|this documentary|the season finale|the animated feature|"
                  "the festival premiere|the remake|the courtroom drama|the horror sequel|the streaming series|"
                  "the soundtrack|the lead actor's performance|the plot twist|the cinema's new IMAX screen|"
                  "the miniseries|the indie comedy"),
        acts=_l("watched|saw|finished|rewatched|binged|caught"),
        tags=_l("#movies|#film|#cinema|#netflix|#tvshow|#moviereview"),
        pos=_l("The cinematography is stunning.|Cried at the ending.|Perfect pacing.|The cast is fantastic.|"
               "Instant classic."),
        neu=_l("Trailer drops tomorrow.|Runtime is almost three hours.|Out on streaming next week.|"
               "Reviews are mixed so far.|Cast list announced."),
        neg=_l("The plot made no sense.|Two hours I'll never get back.|Ruined the original.|Terrible dialogue.|"
               "Fell asleep halfway."),
    ),
    "fashion": dict(
        things=_l("the new sneakers|this winter coat|the thrifted jacket|the capsule wardrobe|"
                  "the runway collection|the tailored suit|my new handbag|the linen shirt|the vintage denim|"
                  "the sustainable brand|the designer collab|the street style look|the silk scarf|"
                  "the wool sweater|the boots I ordered|the summer dress"),
        acts=_l("bought|tried on|ordered|styled|wore|found"),
        tags=_l("#fashion|#ootd|#style|#streetstyle|#sustainablefashion|#outfit"),
        pos=_l("Fits perfectly.|Got so many compliments.|The fabric feels amazing.|Goes with everything.|"
               "Quality you can feel."),
        neu=_l("Sale starts Friday.|Sizes run small.|Trying to shop less this year.|Lookbook is out.|"
               "Restock expected next week."),
        neg=_l("Fell apart after one wash.|The color is nothing like the photos.|Returned it the same day.|"
               "Seams came loose.|Overpriced fast fashion."),
    ),
    "pets": dict(
        things=_l("my puppy|the new cat tree|the rescue kitten|our dog's training class|the grain-free food|"
                  "the vet visit|the dog park|my parrot|the hamster cage|the pet insurance|the cat's new toy|"
                  "the grooming salon|our senior dog|the fish tank|the adoption day|the dog walker"),
        acts=_l("tried|got|booked|adopted|took|bought"),
        tags=_l("#pets|#dogsofinstagram|#catsoftwitter|#adoptdontshop|#puppy|#cats"),
        pos=_l("Tail wagging nonstop.|Purring on my lap right now.|Learned to sit in a day.|"
               "Best decision we made.|Pure joy."),
        neu=_l("Vaccines due next month.|Switching food slowly.|Looking for a sitter.|Walk time.|"
               "Weighing options for insurance."),
        neg=_l("Chewed through the sofa.|The vet bill was outrageous.|Threw up all night.|"
               "The toy broke in minutes.|Scratched everything again."),
    ),
}

# ---- everyday phrasing (slots shared by every topic) -------------------------------------------
SLOTS = dict(
    pos=_l("amazing|incredible|so good|fantastic|brilliant|wonderful|lovely|impressive|a total win|"
           "better than expected|worth every penny|a joy|top notch|just perfect|really great|excellent"),
    neg=_l("terrible|awful|so disappointing|a total mess|overpriced|a waste of money|really bad|"
           "worse than expected|painfully slow|broken again|just sad|garbage|a letdown|frustrating|useless"),
    pex=_l("Love it!|Highly recommend!|10/10.|Absolutely loving it.|Made my day!|So happy right now!|"
           "Best decision this year.|Can't recommend it enough."),
    nex=_l("Never again.|Hugely disappointed.|What a waste.|I'm so annoyed.|Not recommended.|Can't believe this.|"
           "Fix it already.|Avoid."),
    dp=_l("today|this morning|tonight|this weekend|after work|over lunch|this week|last night"),
    p=_l("!|.|!!|."),
)

TEMPLATES = dict(
    pos=_l("{thing} is {pos}{p}|just {act} {thing} and it was {pos}{p}|honestly, {thing} is {pos}. {pex}|"
           "{dp} I {act} {thing}. {pex}|really happy with {thing}, {pos}{p}|can't get enough of {thing}. {pex}|"
           "big fan of {thing}, it's {pos}{p}|{thing}? {pos}. {pex}"),
    neu=_l("anyone tried {thing}?|thinking about {thing} {dp}.|reading up on {thing}.|"
           "what do you all think of {thing}?|not sure how I feel about {thing} yet.|{thing}: worth it or not?|"
           "quick question about {thing}, any tips?|saw a thread about {thing} {dp}.|{act} {thing} {dp}, more later."),
    neg=_l("{thing} is {neg}{p}|just {act} {thing} and it was {neg}. {nex}|honestly, {thing} is {neg}. {nex}|"
           "so disappointed with {thing}. {nex}|{dp} I {act} {thing}. {nex}|not happy with {thing} at all, {neg}.|"
           "lately {thing} has been {neg}.|{thing}? {neg}. {nex}"),
)
OPENERS = dict(pos=_l("Wow.|Okay,|Update:|Not gonna lie,|Small win:"),
               neu=_l("Okay,|PSA:|Question:|Update:|Hmm."),
               neg=_l("Ugh.|Rant:|Seriously,|Update:|Well."))

REPLIES = dict(
    pos=_l("@{h} totally agree, {thing} is {pos}!|@{h} same here! {pex}|@{h} love this. {pex}|"
           "@{h} thanks for sharing, {pos}!|@{h} yes!! {thing} is {pos}."),
    neu=_l("@{h} interesting, where did you get {thing}?|@{h} how long have you had it?|@{h} good to know, thanks.|"
           "@{h} did you compare it with anything else?|@{h} following this thread."),
    neg=_l("@{h} hard disagree, {thing} is {neg}.|@{h} mine was {neg} too. {nex}|@{h} sorry but that's {neg}.|"
           "@{h} had the same problem. {nex}|@{h} nope, {thing} is {neg}."),
)

# ---- the brand ---------------------------------------------------------------------------------
BRAND = dict(
    feature=_l("camera|screen|battery life|design|face unlock|speakers|charging speed|display|build quality|"
               "night mode"),
    task=_l("transfer my photos|reset my password|turn off auto-updates|back up my contacts|set up eSIM|"
            "change the default browser|enable dark mode"),
    issue=_l("keeps dropping wifi|lags when switching apps|scratches way too easily|drains in standby|"
             "restarts after the update|won't pair with my car"),
    pos=_l("Loving my new {product}, the {feature} is {pos}{p}|The {feature} on the {product} is {pos}. {pex}|"
           "Switched to the {product} last week and it's {pos}{p}|"
           "Shoutout to @{support} for sorting my {product} in five minutes. {pex}|"
           "Two months with the {product}: {pos}. #{brand}"),
    neu=_l("Thinking about getting the {product}. Is the {feature} any good?|"
           "@{support} how do I {task} on my {product}?|"
           "Anyone compared the {product} {feature} with last year's model?|"
           "{brand} event announced for next month, curious what comes after the {product}.|"
           "@{support} quick one: can I {task} without losing data?"),
    neg=_l("My {product} {issue}. {nex}|@{support} my {product} {issue}, any fix?|"
           "The {feature} on the {product} is {neg}{p}|Not impressed with the {product}, the {feature} is {neg}."),
    official=_l("Meet the {product}: a {feature} you'll love every day. #{brand}|"
                "Tip of the week: you can {task} in Settings on your {product}. #{brand}|"
                "Thank you for an amazing year with the {product}! #{brand}"),
    support=_l("@{h} Hi! Go to Settings > General and you'll find it there. Let us know if you need more help.|"
               "@{h} Thanks for reaching out! Please send us a DM with your model and we'll take a look.|"
               "@{h} Sorry about that! A restart after the latest update usually fixes it."),
)

CRISIS = dict(
    situation=_l("while charging|during a video call|in my pocket|overnight|while gaming|on a short call|"
                 "just sitting on my desk|in the car|while streaming"),
    cex=_l("This is dangerous.|Never buying {brand} again.|Absolutely unacceptable.|I'm scared to use it.|"
           "Terrible.|Shame on {brand}.|I want my money back."),
    tags=_l("#{brand}Fail|#{brand}|#Overheating|#recall"),
    posts=_l("My {product} got so hot {situation} I couldn't hold it. {cex}|"
             "Is anyone else's {product} overheating {situation}? Mine is burning hot 😱|"
             "{product} battery overheating {situation}. {cex}|"
             "@{support} my {product} is overheating {situation}, what should I do??|"
             "Reports everywhere that the {product} overheats {situation}. {brand}, say something!|"
             "Just burned my hand on my {product}. It overheated {situation}. {cex}|"
             "My {product} shut down after overheating {situation}. {cex}|"
             "Returning my {product} today. Overheating {situation} is not acceptable.|"
             "{brand} needs to recall the {product} now. The battery gets dangerously hot.|"
             "Smelled burning plastic from my {product} {situation}. Scared to charge it now."),
    replies=_l("@{h} same here, mine gets really hot {situation} 😤|@{h} exactly the same with mine. {cex}|"
               "@{h} wow, that's scary. Mine overheated too.|@{h} mine too!! {cex}"),
    support=_l("@{h} We're sorry to hear this. Please stop using the device and DM us its serial number.|"
               "@{h} Thanks for reporting this. Our team is investigating; please send us a DM so we can help."),
)

# A benign burst: the cup final. Loud and mostly happy.
FINAL = dict(
    pos=_l("WHAT A FINAL!!! Riverside FC are champions! 🏆🎉|Unreal scenes at the cup final tonight. {pex}|"
           "That last-minute winner in the final 😭🔥|Champions!!! Riverside FC, what a season 🏆|"
           "Best final I've ever watched. {pex}"),
    neu=_l("Watching the cup final with friends, Riverside FC vs Harbor City.|Half time in the final, 1-1.|"
           "Final whistle soon, nervous."),
    neg=_l("Heartbroken, Harbor City lost the final. Still proud of the team.|Robbed in the final. {nex}"),
)

SPAM = dict(
    prize=_l("iPhone|gift card|crypto airdrop|luxury watch|PS5|cash prize"),
    posts=_l("🔥 FREE {prize} giveaway! Claim yours now at https://example.net/claim?ref={code} #giveaway #free|"
             "Get {n}% off {prize} today only!!! Click https://example.net/deal/{code} 💰|"
             "Earn ${n}00 a day from home, DM me now 💸 https://example.net/join?u={code}"),
)

PII = _l("Email me at {email} if you want details.|Call or text {phone} for more info.|"
         "Selling mine, contact {email} or {phone}.|My number is {phone}, ping me.")
PHONE = "+1 (2{a}{b}) 555-01{c}{d}"  # 555-0100..0199: reserved for fiction in North America

EMOJI = dict(pos=_l("😍|👍|🔥|😊|🎉|❤️|🙌"), neu=_l("🤔|👀|📌"), neg=_l("😡|😤|👎|💔|😞|🙄"))

# ---- people ------------------------------------------------------------------------------------
FIRST = _l("alex|sam|maria|james|li|priya|omar|emma|noah|olivia|liam|ava|lucas|mia|ethan|sofia|mason|chloe|"
           "leo|zoe|ryan|nora|adam|grace|kai|ruby|jack|ella|ben|isla|max|lily|daniel|hannah|tom|amy|ivan|"
           "sara|jon|kate")
LAST = _l("smith|jones|lee|brown|garcia|patel|kim|nguyen|wilson|taylor|martin|white|clark|lewis|walker|hall|"
          "young|king|wright|scott")
HANDLE_WORDS = _l("codes|runs|eats|travels|plays|reads|writes|cooks|lifts|bakes|shoots|draws|hikes|dev|fan|"
                  "daily|irl|hq|official|talks")
BIO = _l("{t1} and {t2} enthusiast. Opinions my own.|Mostly {t1}, sometimes {t2}.|"
         "Here for {t1}. Stay for {t2}.|{t1} nerd | {t2} on weekends|Writing about {t1} and {t2}.")
TOPIC_NAMES = dict(tech="tech", sports="sports", food="food", travel="travel", music="music",
                   finance="money", gaming="games", movies="movies", fashion="style", pets="pets")
