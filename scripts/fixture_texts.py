"""Hand-written English texts for the test fixtures, grouped by topic.

Each topic has three queries, three short passages (short[i] answers queries[i]) and five
paragraphs (paragraphs[i] answers queries[i] in more depth for i < 3). Joining a topic's
paragraphs gives a passage of well over 512 BERT tokens, which exercises truncation.
"""

from __future__ import annotations

TOPICS: dict[str, dict[str, list[str]]] = {
    "science": {
        "queries": [
            "how do plants turn sunlight into chemical energy",
            "why is the sky blue during the day",
            "what happens to water molecules when ice melts",
        ],
        "short": [
            "In photosynthesis, chlorophyll absorbs light and the plant uses that energy to build "
            "sugar from carbon dioxide and water, releasing oxygen.",
            "Air molecules scatter short blue wavelengths of sunlight far more strongly than red "
            "ones, so scattered blue light reaches our eyes from every part of the sky.",
            "When ice melts, the water molecules gain enough energy to break out of the rigid "
            "hydrogen-bonded lattice and slide past one another as a liquid.",
        ],
        "paragraphs": [
            "Photosynthesis happens mainly in the chloroplasts of leaf cells. Pigments such as "
            "chlorophyll a and b absorb red and blue light, and the energy they capture splits "
            "water molecules, freeing oxygen as a by-product. The electrons released by this "
            "splitting pass along a chain of proteins in the thylakoid membrane, which pumps "
            "protons and drives the synthesis of ATP. A second set of reactions, the Calvin "
            "cycle, then uses that ATP together with NADPH to fix carbon dioxide from the air "
            "into three-carbon sugars. Those sugars become glucose, starch and cellulose, the "
            "raw material for almost every food chain on land.",
            "The colour of the daytime sky comes from Rayleigh scattering. Nitrogen and oxygen "
            "molecules are much smaller than the wavelength of visible light, and the amount of "
            "light they scatter rises steeply as the wavelength gets shorter. Blue light is "
            "therefore redirected in all directions many times more than red light. Violet is "
            "scattered even more, but sunlight contains less of it and our eyes are less "
            "sensitive to it, so the overall impression is blue. At sunrise and sunset the light "
            "crosses a much thicker layer of air, most of the blue is scattered out of the beam, "
            "and the remaining light looks orange and red.",
            "Ice is a crystal in which every water molecule is held by hydrogen bonds to four "
            "neighbours in an open hexagonal arrangement. Heating the ice makes the molecules "
            "vibrate harder until, at zero degrees Celsius under normal pressure, some of those "
            "bonds begin to break. The energy absorbed during melting, called the latent heat of "
            "fusion, goes into breaking bonds rather than raising the temperature, which is why "
            "a glass of ice water stays near zero until the ice is gone. Because the open "
            "lattice collapses, liquid water is denser than ice, and that is why ice floats on "
            "lakes and protects the life beneath it in winter.",
            "Scientists measure the age of ancient organic material with radiocarbon dating. "
            "Living organisms take in carbon-14 from the atmosphere while they are alive, and "
            "after death the isotope decays with a half-life of about 5,730 years. By comparing "
            "the remaining carbon-14 with the stable carbon-12 in a sample, a laboratory can "
            "estimate how long ago the organism died. The method works reliably back to roughly "
            "fifty thousand years, after which too little carbon-14 is left to measure. Results "
            "are calibrated against tree rings and cave deposits because the amount of "
            "carbon-14 in the air has not been constant over time.",
            "Plate tectonics explains why earthquakes and volcanoes cluster along certain lines "
            "on the map. The outer shell of the Earth is broken into rigid plates that move a "
            "few centimetres each year, carried by slow convection in the mantle beneath. Where "
            "plates pull apart, as along the Mid-Atlantic Ridge, magma rises and forms new "
            "ocean floor. Where they collide, one plate may sink beneath another, building deep "
            "trenches, chains of volcanoes and high mountain ranges such as the Andes. Where "
            "they slide past each other, stress builds up along faults and is released suddenly "
            "as earthquakes.",
        ],
    },
    "cooking": {
        "queries": [
            "why does bread dough need to be kneaded",
            "how to make a stable mayonnaise at home",
            "what is the best way to cook rice on the stove",
        ],
        "short": [
            "Kneading develops gluten, stretching wheat proteins into an elastic network that "
            "traps gas from the yeast and lets the loaf rise.",
            "For mayonnaise, whisk oil into an egg yolk a few drops at a time at first so the "
            "emulsion forms before you add the rest in a thin stream.",
            "Rinse the rice, simmer it covered in a measured amount of water on low heat, then "
            "let it rest off the heat for ten minutes before fluffing it.",
        ],
        "paragraphs": [
            "When flour meets water, two proteins, glutenin and gliadin, begin to bond into "
            "gluten. Kneading works that tangle into long, aligned strands, turning a shaggy "
            "mass into a smooth dough that stretches thin without tearing. This elastic network "
            "holds the carbon dioxide produced by yeast, so the dough can rise instead of "
            "letting the gas escape. A well kneaded dough passes the windowpane test: a small "
            "piece can be stretched until light shows through it. Long, slow fermentation can "
            "replace part of the kneading, which is why no-knead recipes rely on a wet dough "
            "left to rest overnight.",
            "Mayonnaise is an emulsion of oil droplets suspended in a small amount of water, "
            "held together by lecithin and proteins from the egg yolk. Start with a yolk at room "
            "temperature, a spoon of mustard and a little lemon juice or vinegar. Add the oil "
            "almost drop by drop while whisking hard, because the emulsion cannot hold much oil "
            "until it has thickened. Once it looks glossy and firm you can pour faster. If it "
            "splits, begin again with a fresh yolk and whisk the broken sauce into it slowly. "
            "Season with salt at the end and keep the finished sauce in the fridge.",
            "Good stovetop rice depends mostly on the ratio of water to grain and on gentle "
            "heat. For long-grain white rice, about one and a half cups of water per cup of rice "
            "works well after rinsing away the loose surface starch. Bring the water to a boil, "
            "add the rice and salt, cover tightly and turn the flame to its lowest setting. "
            "After about fifteen minutes the water should be absorbed. Leave the pot covered "
            "off the heat for another ten minutes so the steam finishes the grains evenly, then "
            "fluff with a fork. Brown rice needs more water and roughly twice the time.",
            "Searing meat does not seal in juices, despite the old kitchen saying. What it does "
            "is create flavour through the Maillard reaction, a set of reactions between amino "
            "acids and sugars that begins above about 140 degrees Celsius. The surface must be "
            "dry for this to happen, since water keeps the temperature near its boiling point. "
            "Pat steaks with paper towels, heat the pan until it is very hot and avoid crowding "
            "it, because too many pieces release moisture and start to steam. Let the meat rest "
            "for a few minutes after cooking so the fibres relax before slicing.",
            "Fresh herbs keep longer when treated like cut flowers. Trim the stems of parsley, "
            "coriander or mint, stand them in a jar with a little water and cover the leaves "
            "loosely with a plastic bag in the fridge. Basil is the exception; it darkens in the "
            "cold and prefers a jar on the counter. Woody herbs such as rosemary and thyme do "
            "well wrapped in a damp paper towel. Add delicate herbs at the end of cooking so "
            "their aroma survives, while tough ones can go in early and simmer in stews and "
            "sauces.",
        ],
    },
    "history": {
        "queries": [
            "how did the printing press change Europe",
            "why did the Roman Empire build so many roads",
            "what caused the start of the First World War",
        ],
        "short": [
            "Gutenberg's movable type press, around 1450, made books far cheaper, spread literacy "
            "and helped ideas such as the Reformation travel quickly across Europe.",
            "Roman roads let legions march quickly to the frontiers and carried officials, mail "
            "and trade, binding the provinces to Rome.",
            "The assassination of Archduke Franz Ferdinand in Sarajevo in June 1914 set off a "
            "chain of alliance commitments that drew the great powers into war.",
        ],
        "paragraphs": [
            "Before the middle of the fifteenth century, books in Europe were copied by hand, "
            "mostly in monasteries, and a single Bible could take a scribe years. Johannes "
            "Gutenberg combined metal movable type, an oil-based ink and a screw press adapted "
            "from wine making, and his workshop in Mainz produced its famous Bible around 1455. "
            "Within fifty years presses were running in more than two hundred cities. Printed "
            "pamphlets carried Martin Luther's arguments across the German lands in weeks, "
            "scientists could share identical diagrams and tables, and standardised spelling "
            "slowly followed the printed page.",
            "At its height the Roman road network stretched for more than eighty thousand "
            "kilometres of paved highway. The roads were built first for the army: a legion "
            "could cover thirty kilometres a day on a straight, well drained surface, so "
            "rebellions and invasions could be answered quickly. The same roads carried the "
            "imperial post, tax collectors, merchants and pilgrims. Engineers laid them in "
            "layers of gravel, crushed stone and fitted paving slabs, cambered so rain ran off "
            "into ditches. Milestones marked the distance to the nearest town, and many modern "
            "European highways still follow the old Roman lines.",
            "In the summer of 1914 Europe was divided into two armed camps. Germany and "
            "Austria-Hungary stood on one side, while France and Russia were allied and Britain "
            "was tied to them by looser agreements. When a young Bosnian Serb nationalist shot "
            "Archduke Franz Ferdinand in Sarajevo, Austria-Hungary issued Serbia an ultimatum "
            "with German backing. Russia mobilised to support Serbia, Germany declared war on "
            "Russia and then on France, and the German invasion of neutral Belgium brought "
            "Britain in. Rigid mobilisation timetables and deep mutual suspicion turned a "
            "regional crisis into a continental war within five weeks.",
            "The Silk Road was never a single road but a web of caravan routes linking China "
            "with Central Asia, Persia and the Mediterranean. Silk, porcelain and paper travelled "
            "west, while horses, glassware, silver and wool went east. Few merchants crossed the "
            "whole distance; goods passed from trader to trader through oasis cities such as "
            "Samarkand and Kashgar. Religions and technologies moved along the same paths, so "
            "Buddhism reached China and papermaking reached the Islamic world. Diseases "
            "travelled too, and the Black Death of the fourteenth century probably spread "
            "westward along these routes.",
            "The construction of the Great Pyramid of Giza, around 2560 BC, required an "
            "astonishing degree of organisation. Recent finds of workers' villages and bakeries "
            "near the site show that it was built by paid labourers and rotating crews of "
            "farmers rather than by slaves. Limestone blocks were quarried nearby, while the "
            "finer casing stone came by boat from Tura across the Nile. A papyrus logbook "
            "discovered at Wadi al-Jarf records an inspector named Merer shipping stone for the "
            "project. Ramps of mud brick and rubble, whose exact layout is still debated, "
            "carried the blocks upward.",
        ],
    },
    "programming": {
        "queries": [
            "what is the difference between a list and a tuple in Python",
            "how does git rebase differ from git merge",
            "why should database queries use parameters instead of string formatting",
        ],
        "short": [
            "A Python list is mutable and can grow or shrink, while a tuple is immutable, "
            "hashable when its items are, and usable as a dictionary key.",
            "Merge joins two branches with a merge commit and keeps history as it happened; "
            "rebase replays your commits on top of another branch to give a linear history.",
            "Parameterised queries send values separately from the SQL text, so user input "
            "can never be interpreted as SQL, which prevents injection attacks.",
        ],
        "paragraphs": [
            "Lists and tuples both hold ordered sequences of arbitrary objects in Python, but "
            "they serve different purposes. A list is mutable: you can append, remove, sort and "
            "assign to its items, and it over-allocates memory so appends are cheap on average. "
            "A tuple cannot be changed after it is created, which lets the interpreter store it "
            "more compactly and makes it hashable whenever its elements are, so it can serve as "
            "a dictionary key or a set member. By convention a tuple often represents a record "
            "with a fixed number of fields of different kinds, while a list holds many items of "
            "the same kind.",
            "Both git merge and git rebase bring the changes of one branch into another, but "
            "they record history differently. A merge creates a new commit with two parents, "
            "preserving exactly when and where the branches diverged. A rebase takes the "
            "commits unique to your branch and reapplies them one by one on top of the target, "
            "producing new commits with new hashes and a straight line of history. Because "
            "rebasing rewrites commits, it should not be used on branches that other people "
            "have already pulled. Many teams rebase private feature branches to tidy them and "
            "then merge them into the main branch.",
            "Building SQL by pasting user input into a string is the classic route to SQL "
            "injection. If a login form inserts a name directly into a query, an attacker can "
            "type a quote followed by their own SQL and change what the database executes. "
            "Parameterised queries avoid this by sending the statement with placeholders and "
            "passing the values separately through the driver, so the database always treats "
            "them as data. They also spare you from escaping quotes by hand, and many databases "
            "can cache the plan of a prepared statement and reuse it for later calls with "
            "different values.",
            "A hash table stores key and value pairs in an array of buckets. A hash function "
            "turns each key into an integer, and that integer modulo the number of buckets "
            "selects where the entry lives. When two keys land in the same bucket, the table "
            "resolves the collision either by chaining entries in a small list or by probing "
            "for the next free slot. As the table fills up, collisions become more frequent, so "
            "implementations grow the array and reinsert everything once a load factor is "
            "exceeded. With a good hash function, lookups, insertions and deletions take "
            "constant time on average.",
            "Unit tests check small pieces of code in isolation, and they are most useful when "
            "they are fast, deterministic and independent of one another. A test that depends "
            "on the network, the clock or the order in which other tests ran will eventually "
            "fail for reasons unrelated to the code under test. Replace slow or unpredictable "
            "collaborators with simple fakes, fix random seeds and pass the current time in as "
            "an argument. A failing test should name the behaviour it checks, so that its "
            "message alone tells a reader what broke.",
        ],
    },
    "sport": {
        "queries": [
            "how should a beginner train for a first marathon",
            "what is the offside rule in football",
            "why do tennis players use different strings and tensions",
        ],
        "short": [
            "A first marathon plan usually spans four to five months, building weekly mileage "
            "slowly with one long run each week and plenty of easy running.",
            "A football player is offside if, when the ball is played to them, they are in the "
            "opponents' half and closer to the goal line than both the ball and the "
            "second-last defender.",
            "Lower string tension gives more power and a softer feel, while higher tension and "
            "stiff polyester strings give more control and spin.",
        ],
        "paragraphs": [
            "Most coaches suggest that a beginner should be able to run comfortably for thirty "
            "minutes before starting a marathon plan of sixteen to twenty weeks. The core of "
            "the plan is a weekly long run that grows by a kilometre or two at a time, peaking "
            "at about thirty to thirty-two kilometres three weeks before race day. The rest of "
            "the week is mostly easy running at a conversational pace, with rest days to let "
            "tendons and bones adapt. Every third or fourth week should be lighter. Practise "
            "drinking and eating during long runs so that race day holds no surprises for your "
            "stomach.",
            "The offside law in association football stops attackers from simply waiting next "
            "to the opposing goal. A player is in an offside position if any part of the head, "
            "body or feet is in the opponents' half and nearer to the goal line than both the "
            "ball and the second-last opponent, usually the last outfield defender. Being in "
            "that position is not an offence by itself. It is penalised only when the player "
            "becomes involved in active play at the moment a team-mate passes the ball. A player "
            "cannot be offside directly from a goal kick, a throw-in or a corner kick.",
            "Tennis strings shape how a racket feels as much as the frame does. Players who "
            "want easy depth often choose soft multifilament or natural gut strung at lower "
            "tension, because the string bed stretches more and returns energy to the ball. "
            "Players who swing hard prefer stiffer polyester strung tighter, which flattens the "
            "launch angle and lets the strings snap back sideways to add topspin. Tension also "
            "drops in the first days after stringing, and professionals often restring before "
            "every match. Players with sore elbows are usually advised to avoid stiff polyester "
            "strings.",
            "Cycling teams ride in tight groups because drafting saves a great deal of effort. "
            "A rider sitting close behind another can use around a third less power at racing "
            "speed, since the leading rider pushes the air aside. In a breakaway, riders take "
            "turns at the front, pulling for a short spell and then dropping back to recover. "
            "On mountain climbs the speed falls, drafting matters less and the strongest "
            "climbers can ride away. Team tactics in the big stage races are largely about "
            "protecting a leader from the wind until the decisive moment.",
            "Swimmers reduce drag more than they increase power when they improve. Water is "
            "hundreds of times denser than air, so a body position that lets the hips and legs "
            "sink costs far more energy than any extra strength can repay. Coaches therefore "
            "spend long hours on balance, rotation and a long streamlined glide after each "
            "wall push. Breathing is practised to the side without lifting the head. Only when "
            "the stroke is efficient does it make sense to add hard interval sets for speed and "
            "endurance.",
        ],
    },
    "health": {
        "queries": [
            "how many hours of sleep do adults need and what happens when they get too little",
            "does drinking coffee raise blood pressure",
            "what are the early warning signs of type 2 diabetes",
        ],
        "short": [
            "Most adults need seven to nine hours of sleep; regularly sleeping less harms "
            "attention, mood, blood sugar control and the immune system.",
            "Caffeine can raise blood pressure for a few hours after a cup of coffee, though "
            "regular drinkers develop partial tolerance to the effect.",
            "Early signs of type 2 diabetes include increased thirst, frequent urination, "
            "tiredness, blurred vision and cuts that heal slowly.",
        ],
        "paragraphs": [
            "Sleep researchers generally recommend seven to nine hours a night for adults, and "
            "a small minority truly needs less. During sleep the brain consolidates memories, "
            "clears metabolic waste and regulates hormones that govern appetite and blood sugar. "
            "After a few nights of six hours or less, reaction times and concentration decline "
            "in ways that people consistently underestimate in themselves. Chronic short sleep "
            "is linked to weight gain, high blood pressure, depression and more frequent "
            "infections. A regular schedule, a dark and cool bedroom and less caffeine late in "
            "the day are the most reliable ways to improve sleep.",
            "Caffeine blocks adenosine receptors and causes a short rise in blood pressure, "
            "typically a few points, that peaks within an hour or two of drinking coffee. In "
            "people who rarely drink it the effect is larger; in daily drinkers it is partly "
            "blunted by tolerance. Large long-term studies have not found that moderate coffee "
            "drinking, around three or four cups a day, raises the risk of developing lasting "
            "hypertension in most people. Those who already have poorly controlled high blood "
            "pressure are still often advised to limit caffeine and to check their readings "
            "before and after a cup.",
            "Type 2 diabetes often develops slowly, and many people have it for years before a "
            "diagnosis. High blood glucose pulls water out of the body through the kidneys, so "
            "frequent urination and constant thirst are common early clues. Fatigue, blurred "
            "vision, tingling in the hands or feet and cuts or infections that heal slowly can "
            "follow. Darkened skin in the folds of the neck or armpits may point to insulin "
            "resistance. Because symptoms can be mild, doctors recommend blood tests for adults "
            "who are overweight or have a family history of the disease.",
            "Regular physical activity is one of the most effective things a person can do for "
            "long-term health. Guidelines suggest at least one hundred and fifty minutes of "
            "moderate activity a week, such as brisk walking or cycling, plus muscle "
            "strengthening exercise on two days. Exercise lowers blood pressure, improves "
            "insulin sensitivity, strengthens bones and reduces the risk of heart disease and "
            "several cancers. It also eases symptoms of anxiety and depression. Even short "
            "bouts of ten minutes count, and people who start from very little activity gain "
            "the most.",
            "Hand washing remains one of the cheapest ways to prevent infections. Soap does not "
            "need to be antibacterial; ordinary soap loosens the oils and dirt that carry "
            "microbes so that running water can rinse them away, and it breaks apart the fatty "
            "envelope of many viruses. Health agencies recommend scrubbing all surfaces of the "
            "hands for at least twenty seconds, including the thumbs, fingertips and the skin "
            "between the fingers. Alcohol-based sanitiser is a good substitute when soap is "
            "unavailable, but it works poorly on visibly dirty hands.",
        ],
    },
    "travel": {
        "queries": [
            "is a Japan Rail Pass worth buying for a two week trip",
            "how can I avoid jet lag on a long eastward flight",
            "what should I pack for a multi-day hike in the mountains",
        ],
        "short": [
            "A Japan Rail Pass pays off mainly if you plan several long shinkansen journeys, "
            "such as Tokyo to Kyoto and Hiroshima and back, within its validity period.",
            "To reduce jet lag when flying east, shift your bedtime earlier before departure, "
            "seek morning light at your destination and avoid long naps.",
            "For a multi-day mountain hike, pack layered clothing, a waterproof shell, a map, "
            "enough food and water treatment, a first aid kit and a headlamp.",
        ],
        "paragraphs": [
            "The Japan Rail Pass gives unlimited travel on most JR trains, including most "
            "shinkansen lines, for seven, fourteen or twenty-one days. After large price "
            "increases, it now pays for itself only when a traveller takes several long "
            "journeys, for example Tokyo to Osaka, then on to Hiroshima and back to Tokyo, "
            "within the pass period. Visitors who spend most of their time in one or two cities "
            "usually do better with individual tickets and a rechargeable transport card. "
            "Regional passes covering areas such as Kansai or Hokkaido can be a better deal for "
            "travellers focused on one part of the country.",
            "Jet lag happens because the body clock, set by light, lags behind the new local "
            "time. Flying east is usually harder, because it asks the body to fall asleep "
            "earlier than it wants to. In the days before departure, going to bed and getting "
            "up an hour earlier each day helps. On arrival, bright morning light advances the "
            "clock, while light late in the evening pushes it the wrong way. Keep naps short, "
            "eat meals at local times and drink plenty of water. Some travellers take a small "
            "dose of melatonin in the local evening for a few days.",
            "Packing for several days in the mountains means planning for weather that can "
            "change within an hour. Dress in layers: a wicking base layer, an insulating fleece "
            "or light down jacket, and a waterproof, breathable shell. Carry a paper map and "
            "compass as well as a phone, since batteries fade in the cold. Bring more food than "
            "you expect to eat, a way to treat water, a compact first aid kit, a headlamp with "
            "spare batteries, sun protection and a small repair kit. Keep the total load light "
            "enough to move safely on rough ground.",
            "Travel insurance is easy to buy and easy to misunderstand. A basic policy usually "
            "covers emergency medical treatment abroad, evacuation, trip cancellation for "
            "listed reasons and lost or delayed baggage. Read the exclusions closely: many "
            "policies do not cover pre-existing conditions, extreme sports or travel to regions "
            "under official warnings. Keep receipts and police reports, because claims are "
            "often refused for lack of paperwork. Some credit cards include travel cover, but "
            "the limits are often much lower than those of a dedicated policy.",
            "Travelling by night train has regained popularity in Europe. Sleeper services "
            "link cities such as Vienna, Zurich, Berlin, Paris and Rome, letting passengers "
            "cover long distances while they sleep and arrive in the city centre in the "
            "morning. Compartments range from reclining seats and six-berth couchettes to "
            "private cabins with a shower. Booking early matters, since private cabins sell out "
            "months ahead on popular routes. Many travellers choose night trains to avoid short "
            "flights and the time spent getting to and from airports.",
        ],
    },
    "finance": {
        "queries": [
            "I am thirty years old and want to start investing for retirement with a small "
            "monthly amount; should I choose a low cost index fund or pick individual stocks "
            "myself, and how much do fees matter over several decades?",
            "how does compound interest work",
            "what is the difference between a fixed rate and a variable rate mortgage",
        ],
        "short": [
            "For most savers a low-cost index fund beats picking stocks, because it spreads "
            "risk widely and small fee differences compound into large sums over decades.",
            "Compound interest means you earn interest on earlier interest as well as on the "
            "original deposit, so savings grow faster the longer they are left alone.",
            "A fixed rate mortgage keeps the same interest rate for an agreed period, while a "
            "variable rate follows a benchmark and your payments can rise or fall.",
        ],
        "paragraphs": [
            "An index fund buys every company in a market index, such as a broad world or "
            "national share index, in proportion to its size. Because the fund only tracks the "
            "index, its costs are low, often well below a quarter of a percent a year. "
            "Research over many decades shows that most actively managed funds and most "
            "individual stock pickers trail the index after costs. Fees matter more than they "
            "appear: a one percent annual charge can consume about a quarter of the final "
            "value of a pension pot over forty years. Regular monthly investing also smooths "
            "the price at which you buy.",
            "Compound interest is interest calculated on both the initial amount and the "
            "interest already added to it. If you deposit one thousand pounds at five percent "
            "a year, you earn fifty pounds in the first year, but in the second year you earn "
            "interest on one thousand and fifty, and so on. Over long periods the growth curve "
            "bends steeply upward, which is why starting early matters so much for savers. The "
            "rule of seventy-two gives a quick estimate: divide seventy-two by the annual rate "
            "to find roughly how many years it takes money to double.",
            "With a fixed rate mortgage the interest rate is locked for a set term, commonly "
            "two, five or ten years, so monthly payments stay the same even if market rates "
            "rise. The price of that certainty is usually a slightly higher starting rate and "
            "fees for leaving the deal early. A variable or tracker mortgage moves with a "
            "benchmark such as the central bank rate, so payments fall when rates drop and "
            "climb when they rise. Borrowers on tight budgets often prefer a fixed rate, while "
            "those who expect rates to fall may accept the uncertainty of a variable one.",
            "Inflation erodes the purchasing power of money held in cash. If prices rise by "
            "three percent a year, a sum that buys a full basket of groceries today will buy "
            "noticeably less in ten years. Central banks usually aim for low, stable inflation "
            "around two percent and raise interest rates when prices climb too fast. Savers "
            "should compare the interest they earn with the inflation rate, since a savings "
            "account paying less than inflation is losing real value. Shares, property and "
            "inflation-linked bonds have historically offered some protection.",
            "An emergency fund is money set aside for unexpected costs such as a broken boiler, "
            "a car repair or a sudden loss of income. Advisers commonly suggest saving enough "
            "to cover three to six months of essential spending, kept in an easy-access savings "
            "account rather than invested in shares. Having this cushion means a surprise bill "
            "does not have to go on a high-interest credit card. People with irregular income, "
            "such as the self-employed, often aim for a larger buffer. Building the fund "
            "gradually through an automatic monthly transfer makes it easier to stick with.",
        ],
    },
}

# A second long query (30+ words) paired with long and short health passages.
LONG_QUERIES: list[tuple[str, str]] = [
    (
        "health",
        "My father has been very thirsty for the last few months, gets up several times every "
        "night to use the toilet, feels tired all the time and says his vision is sometimes "
        "blurry; could these be signs of diabetes and what should he do?",
    ),
    (
        "travel",
        "We are flying from London to Tokyo next spring for a two week holiday and have never "
        "dealt with a big time difference before, so what can we do before and after the "
        "flight to get over jet lag quickly?",
    ),
]


def ranking_cases() -> list[dict[str, object]]:
    """One case per topic: its first query, its own short answer among off-topic short answers."""
    names = list(TOPICS)
    cases: list[dict[str, object]] = []
    for t, name in enumerate(names):
        # Six candidates: the relevant passage plus five from other topics, rotated so the
        # relevant one does not always sit at the same index.
        others = [TOPICS[names[(t + k) % len(names)]]["short"][k % 3] for k in range(1, 6)]
        at = t % 6
        passages = [*others[:at], TOPICS[name]["short"][0], *others[at:]]
        cases.append({"query": TOPICS[name]["queries"][0], "passages": passages, "relevant_index": at})
    return cases
