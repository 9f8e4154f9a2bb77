"""Common given names (Russian in Cyrillic and Latin, English): a hint for which word of a
card's name line is the first name. Not exhaustive; surnames are recognised by endings."""

RU_FIRST = """
александр алексей анатолий андрей антон аркадий артём артем борис вадим валентин валерий
василий виктор виталий владимир владислав вячеслав геннадий георгий глеб григорий даниил
денис дмитрий евгений егор иван игорь илья кирилл константин лев леонид максим марк матвей
михаил никита николай олег павел пётр петр роман руслан сергей станислав степан тимофей
тимур фёдор федор филипп эдуард юрий ярослав
александра алина алла анастасия анна антонина валентина валерия вера вероника виктория
галина дарья диана ева евгения екатерина елена елизавета жанна зоя инна ирина карина
кира кристина ксения лариса лидия любовь людмила маргарита марина мария надежда наталья
наталия нина оксана олеся ольга полина раиса светлана софья софия тамара татьяна ульяна
юлия яна
"""

LATIN_FIRST = """
aleksandr alexander alexandr aleksei alexey alexei andrei andrey anton artem boris denis
dmitry dmitri dmitriy egor evgeny evgeniy gleb grigory igor ilya ivan kirill konstantin
leonid maksim maxim mikhail nikita nikolai nikolay oleg pavel petr pyotr roman ruslan sergey
sergei stanislav stepan timur vadim valery valeriy vasily viktor victor vitaly vladimir
vladislav vyacheslav yaroslav yuri yury fedor fyodor
alina anastasia anna daria darya ekaterina elena elizaveta evgenia galina irina julia
yulia kristina ksenia larisa lyudmila margarita marina maria natalia natalya nadezhda
olga oksana polina svetlana sofia sofya tatiana tatyana valentina veronika viktoria
victoria yana
james john robert michael william david richard joseph thomas charles christopher daniel
matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy
ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin
scott brandon benjamin samuel gregory frank alexander patrick peter oliver harry jack
henry lucas liam noah ethan luke adam simon martin tom tim ben sam max hans klaus stefan
thomas markus jan piotr tomasz krzysztof pawel marek
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty
margaret sandra ashley kimberly emily donna michelle carol amanda melissa deborah stephanie
rebecca laura sharon cynthia kathleen amy shirley angela helen emma olivia sophia isabella
charlotte amelia mia harper evelyn abigail ella grace chloe lucy hannah kate claire julia
sophie laura anne eva monika agnieszka katarzyna
"""

FIRST_NAMES = frozenset((RU_FIRST + LATIN_FIRST).split())
